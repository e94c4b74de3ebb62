import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { USERNAME_PATTERN } from '../../users/dto/username';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords/password-policy';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @Transform(trimmed)
  @IsString()
  @MaxLength(254)
  @IsEmail({ allow_utf8_local_part: true }, { message: 'email must be a valid e-mail address' })
  email: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    description: '8 to 256 characters of any script; common passwords are refused',
  })
  @IsString()
  @MaxLength(PASSWORD_MAX_LENGTH * 4, { message: `password must be at most ${PASSWORD_MAX_LENGTH} characters long` })
  password: string;

  @ApiPropertyOptional({ example: 'ada', description: '3-32 letters, digits, "_", "." or "-"' })
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(3, 32)
  @Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' })
  username?: string;

  @ApiPropertyOptional({ example: 'Ada Lovelace', maxLength: 100 })
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  displayName?: string;
}
