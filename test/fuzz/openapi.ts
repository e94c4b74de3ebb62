// The operations the fuzzer drives, read from the service's own OpenAPI document (GET /docs-json),
// so a new route is fuzzed without anyone listing it here.

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  $ref?: string;
}

export interface QueryParameter {
  name: string;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** The path template, e.g. /api/v1/users/{id}. */
  path: string;
  query: QueryParameter[];
  body?: { mediaType: string; schema: JsonSchema };
  secured: boolean;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

function resolve(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split('/').pop()!;
  const target = doc.components?.schemas?.[name];
  if (!target) throw new Error(`unresolved schema ${schema.$ref}`);
  return resolve(doc, target);
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const parameters: { in: string; name: string; schema?: JsonSchema }[] = op.parameters ?? [];
      const content: Record<string, { schema: JsonSchema }> | undefined = op.requestBody?.content;
      const mediaType = content ? Object.keys(content)[0] : undefined;
      operations.push({
        method: method.toUpperCase(),
        path,
        query: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: resolve(doc, p.schema ?? {}) })),
        body: mediaType ? { mediaType, schema: resolve(doc, content![mediaType].schema) } : undefined,
        secured: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return operations;
}
