// Bodies and answers of the /auth/mfa/* routes. A code is a 6-digit TOTP code or a recovery code
// ("xxxx-xxxx-xxxx"); anything longer than either is refused here (400), anything else of that size
// that is no current code is 401 INVALID_MFA_CODE.
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';

const CODE_MAX_LENGTH = 32;

const codeProperty = {
  description: 'a 6-digit code from the authenticator app, or a recovery code',
  example: '123456',
  maxLength: CODE_MAX_LENGTH,
};

export class MfaPasswordDto {
  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(1024)
  password: string;
}

export class MfaConfirmDto {
  @ApiProperty({ description: 'the 6-digit code the app shows now', example: '123456', maxLength: CODE_MAX_LENGTH })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(CODE_MAX_LENGTH)
  code: string;
}

export class MfaPasswordAndCodeDto extends MfaPasswordDto {
  @ApiProperty(codeProperty)
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(CODE_MAX_LENGTH)
  code: string;
}

export class MfaVerifyDto {
  @ApiProperty({ description: 'from the login answer that asked for a second factor' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(128)
  mfaToken: string;

  @ApiProperty(codeProperty)
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(CODE_MAX_LENGTH)
  code: string;
}

export class MfaChallengeResponse {
  @ApiProperty({ enum: [true] })
  mfaRequired: true;

  @ApiProperty({ description: 'single use; send it with a code to POST /auth/mfa/verify' })
  mfaToken: string;

  @ApiProperty({ description: 'seconds the mfaToken lives', example: 300 })
  expiresIn: number;

  @ApiProperty({ enum: ['totp', 'recovery_code'], isArray: true, example: ['totp', 'recovery_code'] })
  methods: ('totp' | 'recovery_code')[];
}

export class TotpSetupResponse {
  @ApiProperty({ description: 'the shared secret, base32 (for typing into an app by hand)' })
  secret: string;

  @ApiProperty({
    example: 'otpauth://totp/Latch:ada%40example.com?issuer=Latch&secret=…&algorithm=SHA1&digits=6&period=30',
  })
  otpauthUri: string;

  @ApiProperty({ description: 'the otpauth URI as a QR code, an SVG document' })
  qrCodeSvg: string;
}

export class RecoveryCodesResponse {
  @ApiProperty({ type: [String], description: 'ten single-use codes, shown this once', example: ['abcd-efgh-ijkl'] })
  recoveryCodes: string[];
}
