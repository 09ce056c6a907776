/**
 * The credit module: what the credit context keeps about applicants outside its workflow (their identity at rest,
 * encrypted, and its erasure). The workflow's own writes stay in activities/credit for now.
 */
export {
  encryptApplicant,
  encryptPlaintextApplicant,
  eraseApplicant,
  readApplicant,
  type ApplicantColumns,
  type ErasureReason,
  type StoredApplicant,
} from './applicants';
