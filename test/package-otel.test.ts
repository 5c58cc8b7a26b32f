/**
 * The published package and OpenTelemetry: `@opentelemetry/api` is an optional peer. Installed from the
 * `npm pack` output into an empty folder without it, the plugin works from `import` and `require` and
 * loads no OpenTelemetry module; once the API is installed, the plugin loads it at registration (never
 * with `openTelemetry: false`), and `fastify-flask-errors/otel` works with the real SDK (needs
 * `npm run build` first; `npm test` does it).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

/** The version of a package installed in this repository, so the consumer gets the same from npm's cache. */
function version (name: string): string {
  // Read from the file: not every package exports its package.json (@opentelemetry/api does not).
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

/**
 * An ESM loader hook (node:module `register`) that writes the URL of every module Node loads to a file:
 * what "loads nothing of OpenTelemetry" is checked against. A module that fails to resolve (an optional
 * peer that is absent) is never loaded, so it is not written.
 */
const RECORDER = `
  import { register } from 'node:module'
  register('./hooks.mjs', import.meta.url, { data: process.env.LOADED })
`
const HOOKS = `
  import { appendFileSync } from 'node:fs'
  let file
  export function initialize (data) { file = data }
  export async function load (url, context, next) {
    appendFileSync(file, url + '\\n')
    return next(url, context)
  }
`

t.test('without @opentelemetry/api installed, and with it', async (t) => {
  t.ok(existsSync(join(root, 'dist/esm/index.js')), 'dist is built (npm test runs the build first)')
  // Outside the repository, so nothing resolves from the project's own node_modules.
  const dir = mkdtempSync(join(tmpdir(), 'ffe-otel-consumer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const npm = (args: string[], cwd: string): string =>
    execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], root).trim().split('\n').pop() as string
  npm(['install', '--prefer-offline', join(dir, tarball), `fastify@${version('fastify')}`], dir)
  writeFileSync(join(dir, 'record.mjs'), RECORDER)
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS)
  const loaded = join(dir, 'loaded.txt')
  /** Runs a script of the consumer; for an ESM one, also the OpenTelemetry modules it loaded. */
  const run = (file: string): { out: string, otel: string[] } => {
    writeFileSync(loaded, '')
    const out = execFileSync(process.execPath, ['--import', './record.mjs', file], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOADED: loaded } })
    const otel = readFileSync(loaded, 'utf8').split('\n').filter((url) => url.includes('/@opentelemetry/'))
    return { out, otel }
  }

  writeFileSync(join(dir, 'app.mjs'), `
    import Fastify from 'fastify'
    import flaskErrors from 'fastify-flask-errors'
    const app = Fastify()
    await app.register(flaskErrors, JSON.parse(process.argv[2] ?? '{}'))
    app.get('/', (request, reply) => reply.abort(404))
    app.get('/crash', () => { throw new Error('boom') })
    const missing = await app.inject({ url: '/', headers: { accept: 'application/json' } })
    const crash = await app.inject({ url: '/crash', headers: { accept: 'application/json' } })
    process.stdout.write(JSON.stringify([missing.statusCode, Object.keys(missing.json()), crash.statusCode, Object.keys(crash.json())]))
  `)
  writeFileSync(join(dir, 'app.cjs'), `
    const Fastify = require('fastify')
    const flaskErrors = require('fastify-flask-errors')
    const app = Fastify()
    app.register(flaskErrors).after(() => { app.get('/', () => flaskErrors.abort(404)) })
    app.inject({ url: '/', headers: { accept: 'application/json' } }).then((res) => {
      const otel = Object.keys(require.cache).filter((file) => file.includes('@opentelemetry'))
      process.stdout.write(JSON.stringify([res.statusCode, Object.keys(res.json()), otel]))
    })
  `)
  const FIELDS = ['statusCode', 'error', 'message', 'requestId']
  const ANSWERS = [404, FIELDS, 500, FIELDS]

  await t.test('without the API: the plugin works, from import and require, and loads nothing of OpenTelemetry', async (t) => {
    t.throws(() => execFileSync(process.execPath, ['-e', "require.resolve('@opentelemetry/api')"], { cwd: dir, stdio: 'pipe' }),
      'the optional peer was not installed with the package')
    const esm = run('app.mjs')
    t.same(JSON.parse(esm.out), ANSWERS, 'the answers, without a traceId')
    t.same(esm.otel, [], 'no OpenTelemetry module loaded')
    const cjs = JSON.parse(run('app.cjs').out)
    t.same(cjs, [404, FIELDS, []], 'require: the same, nothing of it in require.cache')
    writeFileSync(join(dir, 'otel.mjs'), "import 'fastify-flask-errors/otel'")
    t.throws(() => execFileSync(process.execPath, ['otel.mjs'], { cwd: dir, stdio: 'pipe' }), /@opentelemetry\/api/,
      'only the /otel entry needs the API, and says which package is missing')
  })

  await t.test('with the API and the SDK installed', async (t) => {
    npm(['install', '--prefer-offline', `@opentelemetry/api@${version('@opentelemetry/api')}`,
      `@opentelemetry/sdk-trace-base@${version('@opentelemetry/sdk-trace-base')}`], dir)
    const on = run('app.mjs')
    t.same(JSON.parse(on.out), ANSWERS, 'no active span: the same answers')
    t.ok(on.otel.some((url) => url.includes('/@opentelemetry/api/')), 'the API is loaded, at registration')
    writeFileSync(join(dir, 'off.mjs'), readFileSync(join(dir, 'app.mjs'), 'utf8').replace("process.argv[2] ?? '{}'", '\'{"openTelemetry":false}\''))
    t.same(run('off.mjs').otel, [], 'openTelemetry: false loads nothing of it')

    const processorScript = `
      const processor = new ClientErrorSpanProcessor()
      const exporter = new InMemorySpanExporter()
      const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(exporter)] })
      const span = provider.getTracer('consumer').startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 404 } })
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
      process.stdout.write(String(exporter.getFinishedSpans()[0].status.code))
    `
    writeFileSync(join(dir, 'processor.mjs'), `
      import { ClientErrorSpanProcessor } from 'fastify-flask-errors/otel'
      import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
      import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
      ${processorScript}
    `)
    writeFileSync(join(dir, 'processor.cjs'), `
      const { ClientErrorSpanProcessor } = require('fastify-flask-errors/otel')
      const { SpanKind, SpanStatusCode } = require('@opentelemetry/api')
      const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
      ${processorScript}
    `)
    t.equal(run('processor.mjs').out, '0', 'import of /otel: a 4xx server span ends with its status unset')
    t.equal(run('processor.cjs').out, '0', 'require of /otel: the same')

    writeFileSync(join(dir, 'names.mjs'), `
      const esm = Object.keys(await import('fastify-flask-errors/otel')).sort()
      const cjs = Object.keys((await import('node:module')).createRequire(import.meta.url)('fastify-flask-errors/otel')).sort()
      process.stdout.write(JSON.stringify({ esm, cjs }))
    `)
    t.same(JSON.parse(run('names.mjs').out), { esm: ['ClientErrorSpanProcessor'], cjs: ['ClientErrorSpanProcessor'] },
      'the /otel entry exports exactly the processor, from import and require')
  })
})
