/**
 * Waits until `condition` holds, checking on every event-loop turn (tests wait on conditions,
 * never on fixed sleeps). Fails with `description` after `timeoutMs`.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
