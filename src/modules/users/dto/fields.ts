// Validation of the account fields that several request bodies share (register, profile,
// forgot-password): one definition each, so the rules cannot drift apart.
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, Matches, MaxLength } from 'class-validator';

/** Letters and digits of any script, plus "_", "." and "-". */
export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]+$/u;

const nfcTrimmed = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.normalize('NFC').trim() : value,
);

export const IsAccountEmail = (): PropertyDecorator =>
  applyDecorators(
    nfcTrimmed,
    IsString(),
    MaxLength(254),
    IsEmail({ allow_utf8_local_part: true }, { message: 'email must be a valid e-mail address' }),
  );

export const IsUsername = (): PropertyDecorator =>
  applyDecorators(
    nfcTrimmed,
    IsString(),
    Length(3, 32),
    Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' }),
  );

export const IsDisplayName = (): PropertyDecorator => applyDecorators(nfcTrimmed, IsString(), Length(1, 100));
