import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsDisplayName, IsUsername } from './fields';

export class UpdateProfileDto {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'ada',
    description: '3-32 letters, digits, "_", "." or "-"; null clears it',
  })
  @IsOptional()
  @IsUsername()
  username?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'Ada Lovelace',
    description: '1-100 characters; null clears it',
  })
  @IsOptional()
  @IsDisplayName()
  displayName?: string | null;
}
