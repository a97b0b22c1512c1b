/** Moved: the theory toy's shift attack is the registry entry `shift` of ../attacks (kept for old imports). */
export { shiftAttack, shiftDirections } from '../attacks/shift-attack.js';
