/** lib/deadlines.ts: one shared timer per limit cuts off work that outlives its deadline. */
import t from 'tap'
import { DeadlineWatch } from '../lib/deadlines.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms) })
/** Timers that hold this process open (this file makes no others while it counts). */
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

t.test('one timer for all the work, holding the process only while some is pending', async (t) => {
  const watch = new DeadlineWatch(40) // swept every 10 ms
  const before = timers()
  const deadlines = Array.from({ length: 50 }, () => watch.watch(() => { t.fail('released work must not expire') }))
  t.equal(timers(), before + 1, 'fifty deadlines, one timer')
  for (const deadline of deadlines.slice(1)) t.equal(watch.release(deadline), true, 'released in time')
  t.equal(timers(), before + 1, 'one still pending: the timer holds the process')
  t.equal(watch.release(deadlines[0]), true)
  t.equal(timers(), before, 'none pending: it no longer holds the process (a closing app exits at once)')
  t.equal(watch.release(deadlines[0]), false, 'released once')
  watch.watch(() => {})
  t.equal(timers(), before + 1, 'new work holds it again')
  await sleep(80)
  t.equal(timers(), before, 'expired: the timer stops')
})

t.test('work still running at its deadline expires once, between one limit and one sweep later', async (t) => {
  const watch = new DeadlineWatch(40)
  const started = Date.now()
  const expiredAt = await new Promise<number>((resolve) => { watch.watch(() => { resolve(Date.now()) }) })
  const elapsed = expiredAt - started
  t.ok(elapsed >= 40 && elapsed < 1000, `expired after ${elapsed} ms`)
})

t.test('each watch has its own limit and its own timer: one app\'s slow work is not another\'s', async (t) => {
  const before = timers()
  const quick = new DeadlineWatch(20)
  const slow = new DeadlineWatch(5000)
  const started = Date.now()
  const long = slow.watch(() => { t.fail('the slow watch keeps its own limit') })
  t.equal(long.at - started >= 4990, true, 'the slow watch\'s deadline is 5 s away')
  const expiredAt = await new Promise<number>((resolve) => { quick.watch(() => { resolve(Date.now()) }) })
  t.ok(expiredAt - started < 1000, `the quick watch cut its work off after ${expiredAt - started} ms`)
  t.equal(timers(), before + 1, 'the quick watch stopped its timer; the slow one still holds its own')
  t.equal(slow.release(long), true, 'the slow work is still the caller\'s to finish')
  t.equal(timers(), before, 'none pending')
  await sleep(30)
})

t.test('an expiry that starts new work, or releases other late work, is handled in the same sweep', async (t) => {
  const watch = new DeadlineWatch(20)
  const expired: string[] = []
  // Both deadlines pass before the first sweep that sees them; the first one's expiry releases the
  // second (the same request's work) and starts a third, which must still be watched.
  const third = new Promise<void>((resolve) => {
    // eslint-disable-next-line prefer-const -- assigned after the first watch, which reads it later
    let second: ReturnType<typeof watch.watch> | undefined
    watch.watch(() => {
      expired.push('first')
      if (second !== undefined) watch.release(second)
      watch.watch(() => { expired.push('third'); resolve() })
    })
    second = watch.watch(() => { expired.push('second') })
  })
  await third
  t.same(expired, ['first', 'third'])
})
