// Validation of the account fields that several request bodies share (register, profile,
// forgot-password): one definition each, so the rules cannot drift apart.
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { isEmail, IsString, Length, Matches, MaxLength, ValidateBy } from 'class-validator';
import { isStorableText, IsStorableText } from '../../../common/validators/storable-text';

/** Letters and digits of any script, plus "_", "." and "-". */
export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]+$/u;

const nfcTrimmed = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.normalize('NFC').trim() : value,
);

/** C0 and C1 control characters and DEL: never part of an address we would put in a mail header. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** validator's isEmail throws (URIError) on a lone surrogate: such text is refused before it looks. */
const IsEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmail',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && isStorableText(value) && isEmail(value, { allow_utf8_local_part: true }),
      defaultMessage: () => 'email must be a valid e-mail address',
    },
  });

export const IsAccountEmail = (): PropertyDecorator =>
  applyDecorators(
    nfcTrimmed,
    IsString(),
    IsStorableText(),
    MaxLength(254),
    // The validator accepts CR, LF and other controls inside a quoted local part.
    Matches(NO_CONTROL_CHARACTERS, { message: 'email must not contain control characters' }),
    IsEmailAddress(),
  );

export const IsUsername = (): PropertyDecorator =>
  applyDecorators(
    nfcTrimmed,
    IsString(),
    IsStorableText(),
    Length(3, 32),
    Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' }),
  );

export const IsDisplayName = (): PropertyDecorator =>
  applyDecorators(nfcTrimmed, IsString(), IsStorableText(), Length(1, 100));
