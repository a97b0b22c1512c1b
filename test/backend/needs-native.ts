import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { loadNative, nativeLoadError } from '../../src/backend/native.js';

/** Whether the native addon loaded in this process. */
export const hasAddon = loadNative() !== null;
const required = process.env['POISONLAB_REQUIRE_NATIVE'] === '1';
const missing = `native addon unavailable: ${nativeLoadError()}`;
const requiredButMissing = `POISONLAB_REQUIRE_NATIVE=1 but the native addon is unavailable: ${nativeLoadError()}`;

/**
 * A test of the native addon's path. Without the addon it skips, saying why; but CI sets
 * POISONLAB_REQUIRE_NATIVE=1 (.ci/run), and there a missing addon fails the test, so that a machine without
 * it cannot report green with the fast path untested. Inside describe() it is one of the suite's tests.
 */
export function nativeTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  test(name, { skip: !hasAddon && !required && missing }, (t) => {
    assert.ok(hasAddon, requiredButMissing);
    return fn(t);
  });
}

/**
 * The `skip` option for a native test written with test()/it() options: the reason without the addon, false
 * with it; under POISONLAB_REQUIRE_NATIVE=1 a missing addon fails the file here instead of skipping.
 */
export function nativeSkip(): string | false {
  if (hasAddon) return false;
  assert.ok(!required, requiredButMissing);
  return missing;
}
