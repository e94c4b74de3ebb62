import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsStorableText } from '../../../common/validators/storable-text';

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from the last token pair' })
  @IsString()
  @IsStorableText()
  @IsNotEmpty()
  @MaxLength(512)
  refreshToken: string;
}
