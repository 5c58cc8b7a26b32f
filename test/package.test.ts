/**
 * The published package: `npm pack` output installs in an empty folder and works from `import` and
 * from `require` (needs `npm run build` first; `npm test` does it).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

t.test('npm pack output installs and runs from import and require', async (t) => {
  t.ok(existsSync(join(root, 'dist/esm/index.js')), 'dist is built (npm test runs the build first)')
  // Outside the repository, so nothing resolves from the project's own node_modules.
  const dir = mkdtempSync(join(tmpdir(), 'ffe-consumer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const npm = (args: string[], cwd: string): string => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], root).trim().split('\n').pop() as string
  const version = async (name: string): Promise<string> => (await import(`${name}/package.json`, { with: { type: 'json' } })).default.version
  npm(['install', '--prefer-offline', join(dir, tarball), `fastify@${await version('fastify')}`, `nodemailer@${await version('nodemailer')}`], dir)

  const script = `
    const Fastify = require('fastify')
    const flaskErrors = require('fastify-flask-errors')
    const { abort, NotFound } = require('fastify-flask-errors')
    const app = Fastify()
    app.register(flaskErrors).after(() => {
      app.errorhandler(NotFound)(() => ['cjs 404', 404])
      app.get('/', () => abort(404))
    })
    app.inject('/').then((res) => { process.stdout.write(res.statusCode + ' ' + res.body + ' ' + (flaskErrors.default === flaskErrors)) })
  `
  writeFileSync(join(dir, 'cjs.cjs'), script)
  t.equal(execFileSync(process.execPath, ['cjs.cjs'], { cwd: dir, encoding: 'utf8' }), '404 cjs 404 true')

  writeFileSync(join(dir, 'esm.mjs'), `
    import Fastify from 'fastify'
    import flaskErrors, { Gone } from 'fastify-flask-errors'
    const app = Fastify()
    await app.register(flaskErrors)
    app.get('/', (request, reply) => reply.abort(410))
    const res = await app.inject({ url: '/', headers: { accept: 'application/json' } })
    process.stdout.write(res.statusCode + ' ' + res.json().error + ' ' + (new Gone() instanceof Error))
  `)
  t.equal(execFileSync(process.execPath, ['esm.mjs'], { cwd: dir, encoding: 'utf8' }), '410 Gone true')

  writeFileSync(join(dir, 'mail.mjs'), "import { mailReporter } from 'fastify-flask-errors/mail'; process.stdout.write(typeof mailReporter)")
  t.equal(execFileSync(process.execPath, ['mail.mjs'], { cwd: dir, encoding: 'utf8' }), 'function', 'the mail subpath resolves (nodemailer is an optional peer)')
  // The Sentry subpath takes the app's @sentry/node as an argument, so it loads with none installed.
  writeFileSync(join(dir, 'sentry.mjs'), "const s = await import('fastify-flask-errors/sentry'); process.stdout.write(JSON.stringify(Object.keys(s).sort()))")
  writeFileSync(join(dir, 'sentry.cjs'), "process.stdout.write(JSON.stringify(Object.keys(require('fastify-flask-errors/sentry')).sort()))")
  for (const run of ['sentry.mjs', 'sentry.cjs']) {
    t.same(JSON.parse(execFileSync(process.execPath, [run], { cwd: dir, encoding: 'utf8' })), [...SENTRY_PUBLIC].sort(), `${run}: the /sentry names`)
  }

  // The public surface is a deliberate list: a new export is added here on purpose, an internal one
  // (the status table, stack capture, the mail text helpers) never leaks out through a wildcard.
  const names = (run: string): { main: string[], mail: string[] } =>
    JSON.parse(execFileSync(process.execPath, [run], { cwd: dir, encoding: 'utf8' }))
  writeFileSync(join(dir, 'names.mjs'), `
    const main = await import('fastify-flask-errors')
    const mail = await import('fastify-flask-errors/mail')
    process.stdout.write(JSON.stringify({ main: Object.keys(main).sort(), mail: Object.keys(mail).sort() }))
  `)
  writeFileSync(join(dir, 'names.cjs'), `
    const main = require('fastify-flask-errors')
    const mail = require('fastify-flask-errors/mail')
    process.stdout.write(JSON.stringify({ main: Object.keys(main).sort(), mail: Object.keys(mail).sort() }))
  `)
  const esm = names('names.mjs')
  t.same(esm.main, [...PUBLIC].sort(), 'import: exactly the public names')
  t.same(esm.mail, [...MAIL_PUBLIC].sort(), 'import of /mail: exactly what a user calls')
  const cjs = names('names.cjs')
  // fastify-plugin puts the plugin on itself under the camelCase of its name (its support for named
  // imports), and require() returns the plugin: that one name more is fastify-plugin's, not ours.
  t.same(cjs.main, [...PUBLIC, 'fastifyFlaskErrors'].sort(), 'require: the same names on the plugin')
  t.same(cjs.mail, [...MAIL_PUBLIC].sort(), 'require of /mail: the same names')
  for (const name of INTERNAL) {
    const found = [esm.main, esm.mail, cjs.main, cjs.mail].some((list) => list.includes(name))
    t.notOk(found, `${name} is not exported`)
  }
})

/** Every runtime export of `fastify-flask-errors`: the plugin, the exceptions, the helpers and the codes. */
const PUBLIC = [
  'default', 'flaskErrors', 'frameworkErrors', 'abort', 'escapeHtml',
  'HTTPException', 'BadRequest', 'Unauthorized', 'PaymentRequired', 'Forbidden', 'NotFound', 'MethodNotAllowed', 'NotAcceptable',
  'ProxyAuthenticationRequired', 'RequestTimeout', 'Conflict', 'Gone', 'LengthRequired', 'PreconditionFailed',
  'RequestEntityTooLarge', 'RequestURITooLarge', 'UnsupportedMediaType', 'RequestedRangeNotSatisfiable', 'ExpectationFailed',
  'ImATeapot', 'MisdirectedRequest', 'UnprocessableEntity', 'Locked', 'FailedDependency', 'TooEarly', 'UpgradeRequired',
  'PreconditionRequired', 'TooManyRequests', 'RequestHeaderFieldsTooLarge', 'UnavailableForLegalReasons', 'InternalServerError',
  'NotImplemented', 'BadGateway', 'ServiceUnavailable', 'GatewayTimeout', 'HTTPVersionNotSupported', 'VariantAlsoNegotiates',
  'InsufficientStorage', 'LoopDetected', 'NotExtended', 'NetworkAuthenticationRequired',
  'RangeNotSatisfiable', 'ContentTooLarge', 'URITooLong',
  'errorResponses', 'errorSchema', 'problemSchema', 'ERROR_SCHEMA_ID', 'PROBLEM_SCHEMA_ID', 'PROBLEM_CONTENT_TYPE', 'ErrorSnapshot', 'ERROR_CHANNEL',
  'FFE_INVALID_KEY', 'FFE_INVALID_HANDLER', 'FFE_DECORATOR_TAKES_KEY_ONLY', 'FFE_INVALID_OPTION', 'FFE_ROUTING_CLAIM_TOO_LATE',
  'FFE_NOT_FOUND_HANDLER_TAKEN', 'FFE_TEMPLATES_NOT_FOUND', 'FFE_BAD_REPORTER', 'FFE_BAD_REPORT_WHEN', 'FFE_BAD_REPORT_OPTION'
]

/** Every runtime export of `fastify-flask-errors/mail`. */
const MAIL_PUBLIC = ['mailReporter', 'mailReporterFromEnv', 'FFE_BAD_MAIL_OPTION', 'FFE_BAD_MAIL_ENV']

/** Every runtime export of `fastify-flask-errors/sentry`. */
const SENTRY_PUBLIC = ['sentryReporter', 'shouldHandleError', 'FFE_BAD_SENTRY']

/** Names that were once reachable from the package and are internals. */
const INTERNAL = [
  'stackCapture', 'statusClasses', 'isStatusClass', 'createReporting', 'dispatch', 'DEFAULTS',
  'formatError', 'formatReportText', 'defaultSubject', 'subjectLine', 'smtpSettingsFromEnv'
]
