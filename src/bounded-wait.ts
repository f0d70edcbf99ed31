/**
 * Waiting for work that may hang (NATS out of reach) without hanging with it: a shutdown waits
 * this long at most, then goes on; the work itself is not cancelled.
 */
export async function boundedWait(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}
