// Bodies of the password and e-mail endpoints (docs/api.md, "Endpoints").
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';
import { IsAccountEmail } from '../../users/dto/fields';
import { ONE_TIME_TOKEN_MAX_LENGTH } from '../../tokens/one-time-tokens.service';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords/password-policy';

const PASSWORD_DOC = {
  example: 'correct horse battery staple',
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description:
    'PASSWORD_MIN_LENGTH (8 unless configured higher) to 256 characters of any script; common passwords are refused',
};

export class ForgotPasswordDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @IsAccountEmail()
  email: string;
}

export class ResetPasswordDto {
  @ApiProperty({ description: 'The token from the reset link', example: 'q3J0d2Vx…' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(ONE_TIME_TOKEN_MAX_LENGTH)
  token: string;

  @ApiProperty(PASSWORD_DOC)
  @IsString()
  @IsStorableText()
  @MaxLength(PASSWORD_MAX_LENGTH * 4, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;
}

export class ChangePasswordDto {
  @ApiProperty({ example: 'my old passphrase' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH * 4)
  currentPassword: string;

  @ApiProperty(PASSWORD_DOC)
  @IsString()
  @IsStorableText()
  @MaxLength(PASSWORD_MAX_LENGTH * 4, {
    message: `newPassword must be at most ${PASSWORD_MAX_LENGTH} characters long`,
  })
  newPassword: string;
}

export class VerifyEmailDto {
  @ApiProperty({ description: 'The token from the verification link', example: 'q3J0d2Vx…' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(ONE_TIME_TOKEN_MAX_LENGTH)
  token: string;
}

export class AcceptedResponse {
  @ApiProperty({ example: 'If an account uses this address, a message is on its way.' })
  message: string;
}
