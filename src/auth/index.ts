// Authentication helpers: userPassword schemes (passwords.ts) and failed-bind throttling (throttle.ts).
export {
  ARGON2_HASH_OPTIONS,
  DEFAULT_COST_LIMITS,
  DEFAULT_HASH_SCHEME,
  decoyVerify,
  generatePassword,
  hashPassword,
  identifyScheme,
  isHashed,
  needsRehash,
  normalizeHashScheme,
  verifyPassword,
  verifyPasswordSync,
} from './passwords';
export type { CostLimits, HashScheme, SchemeId, SchemeInfo, VerifyOptions } from './passwords';
export { BindThrottle, addressKey } from './throttle';
export type { BindThrottleOptions, ThrottleVerdict } from './throttle';
