// The report's lines on signing algorithms (scenarios/signing.ts): the server's login and refresh
// under ES256 and EdDSA as ratios to HS256 in the same run, and the in-process sign and verify figures.
import { findResult, fmt, RunReport } from './results';

const ASYMMETRIC = ['ES256', 'EdDSA'];

export function signingLines(report: RunReport): string[] {
  const hs = (kind: string) => findResult(report, `${kind} HS256`, 16);
  const micro = (name: string, alg: string) => report.micro?.find((m) => m.name === name && m.alg === alg)?.value;
  const out: string[] = [];
  const jwks = findResult(report, 'jwks', 16);
  const liveness = findResult(report, 'liveness', 16);
  const bare = report.baselines.fastify.find((f) => f.connections === 16);
  if (jwks && bare) {
    out.push(
      `- JWKS c16: ${fmt(jwks.rps / bare.rps, 2)}× bare Fastify; /health/liveness (the pipeline's floor) ` +
        `${fmt(liveness && liveness.rps / bare.rps, 2)}×; JWKS ÷ liveness ${fmt(liveness && jwks.rps / liveness.rps, 2)}`,
    );
  }
  for (const alg of ASYMMETRIC) {
    const parts: string[] = [];
    for (const kind of ['login', 'refresh']) {
      const base = hs(kind);
      const result = findResult(report, `${kind} ${alg}`, 16);
      if (!base || !result) continue;
      parts.push(
        `${kind} c16 req/s ${fmt(result.rps / base.rps, 2)}× HS256, server CPU ${fmt(result.cpuMsPerRequest, 2)} ms/req ` +
          `(HS256 ${fmt(base.cpuMsPerRequest, 2)})`,
      );
    }
    const sign = micro('sign-cpu', alg);
    const verify = micro('verify', alg);
    const verifyHs = micro('verify', 'HS256');
    if (sign !== undefined)
      parts.push(
        `${fmt(sign * 1000, 1)} µs CPU per token signed (HS256 ${fmt((micro('sign-cpu', 'HS256') ?? NaN) * 1000, 1)})`,
      );
    if (verify !== undefined) {
      parts.push(
        `a jose resource server verifies ${fmt(verify, 0)} tokens/s on one core (${fmt(verify / (verifyHs ?? NaN), 2)}× HS256)`,
      );
    }
    if (parts.length > 0) out.push(`- ${alg}: ${parts.join('; ')}`);
  }
  return out.length > 0 ? ['', 'Signing keys (same run; algorithms as ratios to HS256):', ...out] : [];
}
