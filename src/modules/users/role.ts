/** What an account may do beyond its own data; held in users.roles. */
export type Role = 'user' | 'admin';
