/**
 * Preloaded (`node --import`) into every service `npm run stack` and the end-to-end tests start.
 * Such a service is started with an IPC channel to its parent; when the parent dies, even by
 * SIGKILL when it cannot stop its children, the channel closes and the service stops itself
 * the normal way (SIGTERM to itself: its own graceful shutdown), instead of living on as an
 * orphan that keeps serving. Linux's PR_SET_PDEATHSIG would do this in the kernel; Node has no
 * binding for it, and polling process.ppid would wake every process once a second.
 */
if (process.channel) {
  // The channel must not keep a service alive that has otherwise finished.
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
