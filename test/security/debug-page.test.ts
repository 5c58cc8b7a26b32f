/**
 * The debug page tried as an attacker would, over real HTTP on 127.0.0.1: a route that throws
 * `new Error(userInput)` must not let the input name frames (so no file is read, nothing blocks, the
 * page stays small), nothing of the page's work may stop the server, and the production guard fails
 * closed: debug mode and the preview run only where NODE_ENV is unset, `development` or `test`.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import flaskErrors, { FFE_INVALID_OPTION } from '../../index.js'
import type { FlaskErrorsOptions } from '../../index.js'
import { build, API, BROWSER, LEVEL } from '../helpers.js'
import type { LogLine } from '../helpers.js'

/** A debug app whose `/echo` throws `new Error(m)` with `m` from the query or the JSON body, listening on 127.0.0.1. */
async function exposed (t: Test, routes: (app: FastifyInstance) => void = () => {}): Promise<{ app: FastifyInstance, base: string }> {
  const { app } = await build({ debug: true })
  t.teardown(() => app.close())
  routes(app)
  app.get('/ok', () => 'ok')
  app.get<{ Querystring: { m: string } }>('/echo', (request) => { throw new Error(request.query.m) })
  app.post<{ Body: { m: string } }>('/echo', (request) => { throw new Error(request.body.m) })
  return { app, base: await app.listen({ port: 0, host: '127.0.0.1' }) }
}

/** The page (or JSON) `/echo` answers for message `m`. */
async function echo (base: string, m: string, accept = BROWSER.accept): Promise<{ status: number, body: string }> {
  const res = await fetch(`${base}/echo?${new URLSearchParams({ m }).toString()}`, { headers: { accept } })
  return { status: res.status, body: await res.text() }
}

/**
 * ms from sending `busy` until `/ok` answers, `/ok` being asked 100 ms after `busy` (so that `busy`
 * is on the server first). Counted from the start: a server that blocks its event loop blocks this
 * process's timers too, and the time would otherwise be lost.
 */
async function okWhile (base: string, send: () => Promise<unknown>): Promise<number> {
  const start = Date.now()
  const busy = send()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const res = await fetch(`${base}/ok`)
  t.equal(await res.text(), 'ok')
  const elapsed = Date.now() - start
  await busy
  return elapsed
}

/** Sets NODE_ENV (or unsets it) for one test. */
function nodeEnv (t: Test, value: string | undefined): void {
  const saved = process.env.NODE_ENV
  // Assigning undefined would store the string "undefined" (process.env holds strings only).
  const set = (v: string | undefined): void => { if (v === undefined) delete process.env.NODE_ENV; else process.env.NODE_ENV = v }
  set(value)
  t.teardown(() => { set(saved) })
}

const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n')[0]

t.test('a message that forges a frame naming /etc/passwd shows no line of it', async (t) => {
  const { base } = await exposed(t)
  const page = await echo(base, 'x\n    at y (/etc/passwd:1:1)')
  t.equal(page.status, 500)
  t.match(page.body, /at y \(\/etc\/passwd:1:1\)<\/h1>/, 'the message is shown, as text')
  t.notOk(page.body.includes(PASSWD_LINE.split(':')[0] + ':x:'), 'no line of /etc/passwd')
  t.notMatch(page.body, /<div class="loc[^"]*">[^<]*\/etc\/passwd/, 'no frame names it')
  const json = JSON.parse((await echo(base, 'x\n    at y (/etc/passwd:1:1)', API.accept)).body)
  t.notOk(json.debug.errors[0].frames.some((f: { file: string }) => f.file === '/etc/passwd'), 'nor does the JSON')
})

t.test('a message that forges a frame naming one of the app\'s own scripts shows no line of it', async (t) => {
  const { base } = await exposed(t)
  const index = join(process.cwd(), 'index.ts')
  const secondLine = readFileSync(index, 'utf8').split('\n')[1]
  const page = await echo(base, `x\n    at y (${index}:2:1)`)
  t.equal(page.status, 500)
  t.notMatch(page.body, new RegExp(`<div class="loc">[^<]*${index.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`), 'no frame names it')
  t.notOk(page.body.includes(secondLine.replace(/'/g, '&#39;').replace(/"/g, '&quot;')), 'no line of it')
  t.match(page.body, /debug-page\.test\.ts:\d+:\d+/, 'the real frames are still there')
})

t.test('a FIFO named in a forged frame or in a real one does not stop the server', async (t) => {
  const dir = t.testdir({})
  const fifo = join(dir, 'pipe.js')
  execFileSync('mkfifo', [fifo])
  // Were the FIFO ever opened for reading, that open would wait for a writer: this one comes after 3 s,
  // so that a regression fails the 1 s bound below instead of hanging the suite.
  const writer = spawn('sh', ['-c', 'sleep 3; exec 3>"$0"', fifo], { stdio: 'ignore' })
  t.teardown(() => { writer.kill() })
  const { base } = await exposed(t, (app) => {
    app.get('/real', () => {
      const error = new Error('a real frame in a FIFO')
      error.stack = `Error: a real frame in a FIFO\n    at handler (${fifo}:1:1)`
      throw error
    })
  })
  const forged = async (): Promise<{ status: number, body: string }> => await echo(base, `x\n    at y (${fifo}:1:1)`)
  t.ok(await okWhile(base, forged) < 1000, 'another request is answered within 1 s (forged frame)')
  t.equal((await forged()).status, 500)
  const real = async (): Promise<{ status: number, body: string }> => {
    const res = await fetch(`${base}/real`, { headers: BROWSER })
    return { status: res.status, body: await res.text() }
  }
  t.ok(await okWhile(base, real) < 1000, 'another request is answered within 1 s (real frame)')
  const page = await real()
  t.equal(page.status, 500)
  t.match(page.body, /pipe\.js:1:1<\/div><\/div>/, 'the frame is shown, without source')
})

t.test('30 frames of a large one-line file: the page stays small', async (t) => {
  const dir = t.testdir({ 'bundle.js': 'x'.repeat(1024 * 1024 - 16) })
  const bundle = join(dir, 'bundle.js')
  // The file named by real frames (an app's stack, 8 errors deep): lines cut, the page bounded.
  const { base } = await exposed(t, (app) => {
    app.get('/bundle', () => {
      let error: Error | undefined
      for (let i = 0; i < 8; i++) {
        const next = new Error(`level ${i}`, { cause: error })
        next.stack = `Error: level ${i}${`\n    at f (${bundle}:1:1)`.repeat(30)}`
        error = next
      }
      throw error
    })
  })
  const forged = `x${`\n    at f (${bundle}:1:1)`.repeat(30)}`
  const page = await echo(base, forged)
  t.equal(page.status, 500)
  t.ok(Buffer.byteLength(page.body) < 64 * 1024, `${Buffer.byteLength(page.body)} bytes for a ${forged.length} character message`)
  t.notMatch(page.body, /x{241}/, 'no line of the bundle')

  const res = await fetch(`${base}/bundle`, { headers: BROWSER })
  const body = await res.text()
  t.equal(res.status, 500)
  t.match(body, /x{240}…\[1048320 more characters\]/, 'the line is shown cut, with how much was left out')
  t.ok(Buffer.byteLength(body) < 256 * 1024, `${Buffer.byteLength(body)} bytes for 240 frames of a 1 MiB line`)
})

t.test('a 240 KB message of " (:1:1" renders, and the server keeps answering', async (t) => {
  const { base } = await exposed(t)
  const m = `x\n    at ${' (:1:1"'.repeat(34_000)}`
  t.ok(m.length > 235_000)
  const slow = async (): Promise<{ status: number, body: string }> => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { ...BROWSER, 'content-type': 'application/json' }, body: JSON.stringify({ m }) })
    return { status: res.status, body: await res.text() }
  }
  t.ok(await okWhile(base, slow) < 1000, 'another request is answered within 1 s')
  const page = await slow()
  t.equal(page.status, 500)
  t.match(page.body, /<h1>Error: x\n {4}at {2}\(:1:1&quot; \(:1:1&quot;/, 'the page renders, the message as text')
})

const DEPLOYED = ['production ', 'Production', 'PRODUCTION', 'prod', 'staging']

/** What registering the plugin with `options` gives under the current NODE_ENV. */
async function register (t: Test, options: FlaskErrorsOptions): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const built = await build(options)
  t.teardown(() => built.app.close())
  built.app.get('/crash', () => { throw new Error('the crash message') })
  await built.app.ready()
  return built
}

t.test('where NODE_ENV is not a development value, debug: true is refused', async (t) => {
  for (const value of DEPLOYED) {
    nodeEnv(t, value)
    await t.rejects(async () => { await Fastify().register(flaskErrors, { debug: true }).ready() }, {
      code: 'FFE_INVALID_OPTION',
      message: `invalid fastify-flask-errors option: debug: true is refused because NODE_ENV is ${JSON.stringify(value)}: the debug page shows stacks, source lines and request headers, ` +
        'so it runs only where NODE_ENV is unset, "development" or "test" (any case, spaces ignored); use debug: \'force\' to turn it on anyway'
    }, JSON.stringify(value))
    await t.rejects(async () => { await Fastify().register(flaskErrors, { debug: 'yes' as never }).ready() }, FFE_INVALID_OPTION, 'a wrong value too')
  }
})

t.test('where NODE_ENV is not a development value, the preview is not mounted, with one warning', async (t) => {
  for (const value of DEPLOYED) {
    nodeEnv(t, value)
    const { app, logs } = await register(t, { preview: '/_errors' })
    t.equal((await app.inject({ url: '/_errors/410', headers: API })).statusCode, 404, `${JSON.stringify(value)}: not mounted`)
    const warnings = logs.filter((line) => line.level === LEVEL.warn)
    t.equal(warnings.length, 1, 'one warning')
    t.match(warnings[0].msg, `preview "/_errors" is not mounted because NODE_ENV is ${JSON.stringify(value)}`)
    const crash = await app.inject({ url: '/crash', headers: BROWSER })
    t.notMatch(crash.body, /the crash message/, 'and no debug page')
  }
})

t.test('unset, development and test (any case, spaces ignored) allow both; debug: \'force\' allows them anywhere', async (t) => {
  const cases: Array<[string | undefined, FlaskErrorsOptions]> = [
    [undefined, { debug: true, preview: '/_errors' }],
    ['development', { debug: true, preview: '/_errors' }],
    [' Test ', { debug: true, preview: '/_errors' }],
    ['production', { debug: 'force', preview: '/_errors' }],
    ['staging', { debug: 'force', preview: '/_errors' }]
  ]
  for (const [value, options] of cases) {
    nodeEnv(t, value)
    const { app, logs } = await register(t, options)
    t.equal((await app.inject({ url: '/_errors/410', headers: API })).statusCode, 410, `${String(value)}: the preview answers`)
    t.match((await app.inject({ url: '/crash', headers: BROWSER })).body, /<h1>Error: the crash message<\/h1>/, `${String(value)}: the debug page`)
    t.match(logs.filter((line) => line.level === LEVEL.warn), [{ msg: /^Debugger is active!/ }], 'the startup warning, and no other')
  }
})
