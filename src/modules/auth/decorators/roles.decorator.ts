import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import type { Role } from '../../users/role';
import { ROLES_KEY, RolesGuard } from '../guards/roles.guard';

/** Allows the route only to callers holding one of `roles` (403 FORBIDDEN otherwise). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ROLES_KEY, roles), UseGuards(RolesGuard));
