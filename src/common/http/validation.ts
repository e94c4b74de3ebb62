// The one ValidationPipe configuration: unknown fields are refused, errors become VALIDATION_FAILED.
import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError, ErrorCode, FieldError } from '../errors/app-error';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => {
      if (error.constraints?.whitelistValidation) return { field, message: `${field} is not an allowed field` };
      if (!field) return { field: 'body', message: 'the body must be a JSON object' };
      return { field, message };
    });
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new AppError(ErrorCode.ValidationFailed, 'The request is invalid.', { errors: flatten(errors) }),
  });
}
