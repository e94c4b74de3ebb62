import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ROLES_KEY, RolesGuard } from '../guards/roles.guard';
import type { Role } from '../../modules/users/user.entity';

/** Allows the route only to callers holding one of `roles` (403 FORBIDDEN otherwise). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ROLES_KEY, roles), UseGuards(RolesGuard));
