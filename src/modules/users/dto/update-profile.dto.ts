import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { USERNAME_PATTERN } from './username';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').trim() : value);

export class UpdateProfileDto {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'ada',
    description: '3-32 letters, digits, "_", "." or "-"; null clears it',
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(3, 32)
  @Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' })
  username?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'Ada Lovelace',
    description: '1-100 characters; null clears it',
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  displayName?: string | null;
}
