import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';
import { IsAccountEmail, IsDisplayName, IsUsername } from '../../users/dto/fields';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords/password-policy';

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @IsAccountEmail()
  email: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description:
      'PASSWORD_MIN_LENGTH (8 unless configured higher) to 256 characters of any script; common passwords are refused',
  })
  @IsString()
  @IsStorableText()
  @MaxLength(PASSWORD_MAX_LENGTH * 4, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;

  @ApiPropertyOptional({ example: 'ada', description: '3-32 letters, digits, "_", "." or "-"' })
  @IsOptional()
  @IsUsername()
  username?: string;

  @ApiPropertyOptional({ example: 'Ada Lovelace', maxLength: 100 })
  @IsOptional()
  @IsDisplayName()
  displayName?: string;
}
