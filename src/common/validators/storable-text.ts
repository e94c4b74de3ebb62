// Text that every layer below can store and compare: PostgreSQL refuses U+0000 in text and any
// string that is not valid UTF-8 (a lone UTF-16 surrogate cannot be encoded), and bcrypt would
// stop reading a password at its first NUL. Such input is a 400 naming the field, never a 500 or
// a silently shortened value.
import { ValidateBy, ValidationOptions } from 'class-validator';

// U+0000, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what is looked for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True for a string PostgreSQL can store as text (no U+0000, no unpaired surrogate). */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** Refuses a string containing U+0000 or an unpaired surrogate; other types pass (IsString judges them). */
export const IsStorableText = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isStorableText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || isStorableText(value),
        defaultMessage: (args) =>
          `${args?.property ?? 'the value'} must not contain U+0000 or unpaired UTF-16 surrogates`,
      },
    },
    options,
  );
