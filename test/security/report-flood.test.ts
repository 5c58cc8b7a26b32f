/**
 * Floods aimed at error reporting: huge messages must not pile up in memory while a window holds
 * their repeats, and a flood of junk 500s must not use up the budget so that the real error after it
 * goes unreported.
 */
import t from 'tap'
import type { Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ErrorSnapshot } from '../../index.js'
import type { ErrorReport } from '../../index.js'
import { build, LEVEL } from '../helpers.js'

const HEAP_SCRIPT = fileURLToPath(new URL('./fixtures/report-heap.ts', import.meta.url))

t.test('99 distinct 900 KB messages, each twice: the window holds a few KB per error, not the messages', async (t) => {
  // A child process with --expose-gc, so the measure is of the app alone, after a full collection.
  // Coverage is turned off in the child (tap's _TAPJS_PROCESSINFO_COVERAGE_=0; tap still loads its
  // process tracking there): the child loads the library through tsx, whose source maps differ from
  // the runner's, and its coverage would be merged into the library's as if it were the same code.
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', HEAP_SCRIPT], { encoding: 'utf8', timeout: 50_000, env })
  t.equal(child.status, 0, child.stderr)
  const { before, after, held, afterClose } = JSON.parse(child.stdout) as { before: number, after: number, held: { reported: number, summarised: number }, afterClose: { reported: number, summarised: number } }
  const grown = after - before
  // The messages alone are 99 × 900 KB ≈ 87 MB (178 MB as two copies): anything near that is a leak.
  t.ok(grown < 16 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(1)} MB while the window holds 99 repeated errors`)
  t.same(held, { reported: 100, summarised: 0 }, 'first occurrences reported at once (with the warm-up), repeats held')
  t.same(afterClose, { reported: 100, summarised: 99 }, 'close() sends one summary per repeated error')
})

/** An app whose routes fail from a few throw sites, with every report recorded. */
async function floodApp (t: Test): Promise<{ app: Awaited<ReturnType<typeof build>>['app'], reports: ErrorReport[], logs: Awaited<ReturnType<typeof build>>['logs'] }> {
  const reports: ErrorReport[] = []
  const { app, logs } = await build({ report: (report) => { reports.push(report) } }, { logger: { level: 'warn' } })
  t.teardown(() => app.close())
  // Junk: the client picks the message (an id in it), so every request is a "new" error.
  app.get('/users/:id', (request) => { throw new Error(`no row for user ${(request.params as { id: string }).id}`) })
  app.get('/search', (request) => { throw new TypeError(`bad query ${JSON.stringify(request.query)}`) })
  app.get('/checkout', () => { throw new Error('payment provider rejected the API key') })
  return { app, reports, logs }
}

t.test('after a flood of junk 500s from one place, a new error in the same window is still reported', async (t) => {
  const { app, reports, logs } = await floodApp(t)
  for (let id = 0; id < 500; id++) await app.inject(`/users/${id}`)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(reports.length, 10, 'one throw site gets a tenth of the budget (100), whatever its messages')
  await app.inject('/checkout')
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(reports.length, 11)
  t.equal((reports[10].error as Error).message, 'payment provider rejected the API key', 'the real error, reported at once')
  t.notOk(reports[10].error instanceof ErrorSnapshot, 'a first occurrence carries the real error')
  await app.close()
  const warning = logs.find((line) => line.level === LEVEL.warn && /dropped/.test(line.msg))
  t.match(warning, { dropped: 490, perSite: 10, reserved: 10, reportRateLimit: 100 }, 'the dropped junk is counted and logged')
})

t.test('floods from several places leave the reserved tenth of the budget to an error from a new place', async (t) => {
  const { app, reports } = await floodApp(t)
  // Nine throw sites' worth of junk would take 90 reports; two sites take 20 here, and the rest of the
  // budget up to 90 is open to any error. The last 10 are kept for errors from places not seen yet.
  for (let id = 0; id < 200; id++) {
    await app.inject(`/users/${id}`)
    await app.inject(`/search?q=${id}`)
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(reports.length, 20)
  await app.inject('/checkout')
  await app.inject('/checkout') // a repeat: counted for the summary, no report of its own
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(reports.slice(20).map((report) => report.request.url), ['/checkout'])
  await app.close()
  t.match(reports.at(-1), { count: 1, request: { url: '/checkout' } }, 'the summary at close')
  t.type(reports.at(-1)?.error, ErrorSnapshot, 'a summary carries a bounded snapshot')
  t.match(reports.at(-1)?.error, { type: 'Error', message: 'payment provider rejected the API key', stack: /^Error: payment provider rejected the API key\n\s+at / })
})

t.test('a snapshot keeps a bounded picture of a repeated error: message, frames, code, causes', async (t) => {
  const { app, reports } = await floodApp(t)
  class DbError extends Error { code = 'E_DB' }
  const root = new RangeError('r'.repeat(10_000))
  app.get('/db', () => {
    const error = new DbError(`${'m'.repeat(5000)}\n    at fake (/not/a/frame.js:1:1)`, { cause: new Error('level 1', { cause: new Error('level 2', { cause: new Error('level 3', { cause: root }) }) }) })
    throw error
  })
  await app.inject('/db')
  await app.inject('/db')
  await app.close()
  const snapshot = reports[1].error as ErrorSnapshot
  t.type(snapshot, ErrorSnapshot)
  t.equal(snapshot.type, 'DbError')
  t.equal(snapshot.code, 'E_DB')
  t.equal(snapshot.message.length, 2048 + '…[2984 more characters]'.length, 'the message cut at 2 KB, saying how much')
  t.notMatch(snapshot.stack, /fake/, 'a frame inside the message is not taken for the throw site')
  t.match(snapshot.stack, /\n\s+at .*report-flood\.test\.ts/, 'the real frames')
  t.equal((snapshot.cause as ErrorSnapshot).message, 'level 1')
  t.equal(((snapshot.cause as ErrorSnapshot).cause as ErrorSnapshot).message, 'level 2')
  t.equal((((snapshot.cause as ErrorSnapshot).cause as ErrorSnapshot).cause as ErrorSnapshot).message, 'level 3')
  t.equal((((snapshot.cause as ErrorSnapshot).cause as ErrorSnapshot).cause as ErrorSnapshot).cause, undefined, 'three causes at most')
})

t.test('a repeated error whose code and cause cannot be read still gets a snapshot', async (t) => {
  const { app, reports } = await floodApp(t)
  app.get('/hostile', () => {
    const error = new Error('hostile')
    Object.defineProperty(error, 'code', { get () { throw new Error('code getter') } })
    Object.defineProperty(error, 'cause', { get () { throw new Error('cause getter') } })
    throw error
  })
  t.equal((await app.inject('/hostile')).statusCode, 500)
  t.equal((await app.inject('/hostile')).statusCode, 500)
  await app.close()
  t.equal(reports.length, 2)
  t.match(reports[1].error, { type: 'Error', message: 'hostile', code: undefined, cause: undefined })
})

t.test('snapshots of values that are not errors, of empty messages and of messages changed after the throw', async (t) => {
  const { app, reports } = await floodApp(t)
  // eslint-disable-next-line no-throw-literal
  app.get('/string', () => { throw 'a thrown string' })
  app.get('/empty', () => { throw Object.assign(new Error(''), { code: 503 }) })
  app.get('/changed', () => {
    const error = new Error('as thrown')
    error.message = 'changed later'
    throw error
  })
  for (const url of ['/string', '/string', '/empty', '/empty', '/changed', '/changed']) t.equal((await app.inject(url)).statusCode, 500, url)
  await app.close()
  const snapshots = reports.filter((report) => report.error instanceof ErrorSnapshot).map((report) => report.error as ErrorSnapshot)
  t.equal(snapshots.length, 3)
  t.match(snapshots[0], { type: 'string', message: 'a thrown string', code: undefined, stack: 'string: a thrown string' })
  t.match(snapshots[1], { type: 'Error', message: '', code: 503, stack: /^Error: \n\s+at / })
  t.match(snapshots[2], { type: 'Error', message: 'changed later', stack: /^Error: changed later\n\s+at / })
})
