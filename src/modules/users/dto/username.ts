/** Letters and digits of any script, plus "_", "." and "-". */
export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]+$/u;
