/**
 * lib/options.ts: every option's accepted and refused values, the messages that say the fix, debug
 * mode and the preview route on production, the defaults, and which options belong to the app only.
 * The one code of a bad option is FFE_INVALID_OPTION, whichever option it is.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import flaskErrors, { FFE_BAD_REPORTER, FFE_BAD_REPORT_OPTION, FFE_BAD_REPORT_WHEN } from '../index.js'
import type { FlaskErrorsOptions } from '../index.js'
import { FFE_INVALID_OPTION } from '../lib/errors.js'
import { DEFAULTS, normalizeOptions } from '../lib/options.js'

const DEV: NodeJS.ProcessEnv = { NODE_ENV: 'development' }
const PRODUCTION: NodeJS.ProcessEnv = { NODE_ENV: 'production' }

/** A logger that keeps its warnings. */
function warnings (): { log: FastifyBaseLogger, lines: string[] } {
  const lines: string[] = []
  return { log: { warn: (msg: string) => { lines.push(msg) } } as unknown as FastifyBaseLogger, lines }
}

/** The context options one registration gives, as lib/options.ts normalises them. */
function contextOptions (options: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): unknown {
  return normalizeOptions(options, { first: true, log: warnings().log, env }).context
}

/** The preview path one registration's options give; its warning goes to `log`. */
function previewOption (options: Record<string, unknown>, log: FastifyBaseLogger, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return normalizeOptions(options, { first: true, log, env }).preview
}

/** The FFE_INVALID_OPTION `fn` throws; fails the test when it throws something else or nothing. */
function refusal (t: Test, fn: () => unknown, label: string): string {
  try {
    fn()
  } catch (error) {
    t.type(error, FFE_INVALID_OPTION, label)
    t.type(error, TypeError, `${label}: a TypeError`)
    t.equal((error as { code?: unknown }).code, 'FFE_INVALID_OPTION', `${label}: its code`)
    return (error as Error).message
  }
  t.fail(`${label}: not refused`)
  return ''
}

t.test('defaults', async (t) => {
  t.same(DEFAULTS, {
    debug: false,
    format: 'negotiate',
    logLevel: 'info',
    logLevels: [],
    notFoundLogLevel: undefined,
    errorHandlerTimeout: 10_000,
    templates: 'errors',
    problemDetails: false
  })
})

t.test('contextOptions: accepted values come back validated; absent and undefined ones do not', async (t) => {
  t.same(contextOptions({}, DEV), {})
  t.same(contextOptions({ format: undefined, debug: undefined, templates: undefined }, DEV), {}, 'undefined means not given')
  t.same(contextOptions({
    debug: true, format: 'json', logLevel: 'warn', notFoundLogLevel: 'debug', errorHandlerTimeout: 250, templates: 'pages/errors', problemDetails: true
  }, DEV), {
    debug: true, format: 'json', logLevel: 'warn', notFoundLogLevel: 'debug', errorHandlerTimeout: 250, templates: 'pages/errors', problemDetails: true
  })
  for (const format of ['negotiate', 'json', 'html']) t.same(contextOptions({ format }, DEV), { format })
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
    t.same(contextOptions({ logLevel: level, notFoundLogLevel: level }, DEV), { logLevel: level, notFoundLogLevel: level }, level)
  }
  t.same(contextOptions({ debug: false, problemDetails: false, templates: false }, DEV), { debug: false, problemDetails: false, templates: false })
  t.same(contextOptions({ format: 'html' }), { format: 'html' }, 'the environment defaults to process.env')
})

t.test('app-level and registration keys are accepted, not returned as context options', async (t) => {
  const options = { report: () => undefined, reportWhen: () => true, reportTimeout: 5, reportDedupeWindow: 1, reportRateLimit: 2, preview: '/_errors', format: 'json' }
  t.same(contextOptions(options, DEV), { format: 'json' })
})

t.test('app options are refused in a nested registration, all of them named, before any other check', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ format: 'json', report: [], reportWhen: 1, debug: true, reportRateLimit: 3 }, 'report, reportWhen, reportRateLimit'],
    [{ reportTimeout: 1, reportDedupeWindow: 1 }, 'reportTimeout, reportDedupeWindow'],
    [{ redact: {}, typo: 1 }, 'redact']
  ]
  for (const [options, names] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(flaskErrors)
    app.register(async (child) => { await child.register(flaskErrors, options as FlaskErrorsOptions) })
    await t.rejects(async () => { await app.ready() }, { code: 'FFE_INVALID_OPTION', message: `invalid fastify-flask-errors option: ${names} can only be set where the plugin is first registered` }, names)
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  app.register(async (child) => { await child.register(flaskErrors, { format: 'json', preview: '/_errors', notFoundHooks: {} }) }, { prefix: '/api' })
  await t.resolves(async () => { await app.ready() }, 'context and registration options are fine there')
})

t.test('the app options get their defaults once, at the first registration', async (t) => {
  const { app } = normalizeOptions({}, { first: true, log: warnings().log })
  t.same(app.report, [])
  t.same([app.reportTimeout, app.reportDedupeWindow, app.reportRateLimit], [10_000, 60_000, 100])
  t.same(app.redact, {})
  t.same([499, 500, 503].map((status) => app.reportWhen(status, new Error('x'))), [false, true, true], 'reportWhen: status >= 500')
  const given = normalizeOptions({ report: [null, undefined], reportWhen: [404], reportTimeout: 5 }, { first: true, log: warnings().log }).app
  t.same(given.report, [], 'null entries (a reporter switched off) are left out')
  t.same([404, 500].map((status) => given.reportWhen(status, undefined)), [true, false], 'a list of statuses')
  t.equal(given.reportTimeout, 5)
})

t.test('an unknown key is refused by name', async (t) => {
  for (const key of ['fromat', 'Format', 'loglevel', 'report_when', '']) {
    t.equal(refusal(t, () => contextOptions({ [key]: 'json' }, DEV), key), `invalid fastify-flask-errors option: unknown option "${key}"`)
  }
  t.equal(refusal(t, () => contextOptions({ format: 'json', typo: 1 }, DEV), 'after a good key'), 'invalid fastify-flask-errors option: unknown option "typo"')
})

t.test('format and levels must be one of their names', async (t) => {
  for (const [value, shown] of [['xml', '"xml"'], ['JSON', '"JSON"'], [5, '5'], [null, 'null'], [true, 'true'], [['json'], '["json"]']] as const) {
    t.equal(refusal(t, () => contextOptions({ format: value }, DEV), `format ${shown}`),
      `invalid fastify-flask-errors option: format must be one of negotiate, json, html, got ${shown}`)
  }
  for (const key of ['logLevel', 'notFoundLogLevel']) {
    for (const [value, shown] of [['verbose', '"verbose"'], ['INFO', '"INFO"'], [30, '30'], [false, 'false']] as const) {
      t.equal(refusal(t, () => contextOptions({ [key]: value }, DEV), `${key} ${shown}`),
        `invalid fastify-flask-errors option: ${key} must be one of fatal, error, warn, info, debug, trace, silent, got ${shown}`)
    }
  }
})

t.test('values without a JSON form are refused with FFE_INVALID_OPTION too, and shown', async (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const odd: Array<[unknown, string]> = [[10n, '10'], [Symbol('s'), 'Symbol(s)'], [function level () {}, 'function level'], [cyclic, 'Object object']]
  for (const [value, shown] of odd) {
    t.equal(refusal(t, () => contextOptions({ format: value }, DEV), `format ${shown}`),
      `invalid fastify-flask-errors option: format must be one of negotiate, json, html, got ${shown}`)
    t.match(refusal(t, () => contextOptions({ debug: value }, DEV), `debug ${shown}`), `got ${shown}`)
    t.match(refusal(t, () => contextOptions({ templates: value }, DEV), `templates ${shown}`), `got ${shown}`)
    t.match(refusal(t, () => previewOption({ preview: value }, warnings().log, DEV), `preview ${shown}`), `got ${shown}`)
  }
})

t.test('debug', async (t) => {
  for (const [value, shown] of [['yes', '"yes"'], ['true', '"true"'], [1, '1'], [null, 'null'], ['FORCE', '"FORCE"']] as const) {
    t.equal(refusal(t, () => contextOptions({ debug: value }, DEV), `debug ${shown}`),
      `invalid fastify-flask-errors option: debug must be true, false or 'force', got ${shown}`)
  }
  t.equal(refusal(t, () => contextOptions({ debug: true }, PRODUCTION), 'debug: true on production'),
    'invalid fastify-flask-errors option: debug: true is refused because NODE_ENV is "production": the debug page shows stacks, source lines and request headers, ' +
    'so it runs only where NODE_ENV is unset, "development" or "test" (any case, spaces ignored); use debug: \'force\' to turn it on anyway',
    'the message says the rule and the override')
  t.same(contextOptions({ debug: 'force' }, PRODUCTION), { debug: true }, "'force' is accepted on production")
  t.same(contextOptions({ debug: 'force' }, DEV), { debug: true })
  t.same(contextOptions({ debug: false }, PRODUCTION), { debug: false })
  t.same(contextOptions({ debug: true }, {}), { debug: true }, 'no NODE_ENV is development')
  for (const value of ['', 'development', 'test', ' Test ', 'DEVELOPMENT']) t.same(contextOptions({ debug: true }, { NODE_ENV: value }), { debug: true }, JSON.stringify(value))
  for (const value of ['production ', 'Production', 'PRODUCTION', 'prod', 'staging', 'undefined', 'dev']) {
    t.match(refusal(t, () => contextOptions({ debug: true }, { NODE_ENV: value }), JSON.stringify(value)), `because NODE_ENV is ${JSON.stringify(value)}:`)
  }
})

t.test('errorHandlerTimeout: an integer number of ms a timer can honour', async (t) => {
  t.same(contextOptions({ errorHandlerTimeout: 1 }, DEV), { errorHandlerTimeout: 1 })
  t.same(contextOptions({ errorHandlerTimeout: 2_147_483_647 }, DEV), { errorHandlerTimeout: 2_147_483_647 })
  for (const [value, shown] of [[0, '0'], [-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], [2_147_483_648, '2147483648'], ['100', '"100"'], [null, 'null']] as const) {
    t.equal(refusal(t, () => contextOptions({ errorHandlerTimeout: value }, DEV), `timeout ${shown}`),
      `invalid fastify-flask-errors option: errorHandlerTimeout must be an integer number of ms from 1 to 2147483647, got ${shown}`)
  }
})

t.test('templates: a folder inside the view root, or false', async (t) => {
  const accepted: Array<[string, string]> = [
    ['errors', 'errors'], ['errors/', 'errors'], ['./errors', 'errors'], ['pages/errors', 'pages/errors'],
    ['pages\\errors', 'pages/errors'], ['pages//./errors', 'pages/errors'], ['a b/c', 'a b/c']
  ]
  for (const [value, folder] of accepted) t.same(contextOptions({ templates: value }, DEV), { templates: folder }, value)

  const notFolder = (shown: string): string =>
    `invalid fastify-flask-errors option: templates must name a folder under the @fastify/view root (e.g. 'errors') or be false, got ${shown}`
  for (const [value, shown] of [['', '""'], ['.', '"."'], ['./', '"./"'], [' errors', '" errors"'], ['errors ', '"errors "'], [true, 'true'], [5, '5'], [null, 'null']] as const) {
    t.equal(refusal(t, () => contextOptions({ templates: value }, DEV), `templates ${shown}`), notFolder(shown))
  }
  const outside = (shown: string): string =>
    `invalid fastify-flask-errors option: templates must be a folder inside the @fastify/view root, not an absolute path or one that leaves it, got ${shown}`
  for (const value of ['/etc/errors', '\\\\server\\share', 'C:\\errors', 'c:errors', '../errors', 'errors/../../x', 'a\\..\\..\\b', '..']) {
    t.equal(refusal(t, () => contextOptions({ templates: value }, DEV), `templates ${value}`), outside(JSON.stringify(value)))
  }
})

t.test('problemDetails: a boolean', async (t) => {
  for (const [value, shown] of [['yes', '"yes"'], [1, '1'], [null, 'null'], [{}, 'Object object']] as const) {
    t.equal(refusal(t, () => contextOptions({ problemDetails: value }, DEV), `problemDetails ${shown}`),
      `invalid fastify-flask-errors option: problemDetails must be true or false, got ${shown}`)
  }
})

t.test('previewOption: a route path, off by default, not mounted on production', async (t) => {
  const { log, lines } = warnings()
  t.equal(previewOption({}, log, DEV), undefined)
  t.equal(previewOption({ preview: undefined }, log, DEV), undefined)
  t.equal(previewOption({ preview: false }, log, DEV), undefined)
  t.equal(previewOption({ preview: false }, log, PRODUCTION), undefined, 'off is fine on production')
  t.equal(previewOption({ preview: '/_errors' }, log, DEV), '/_errors')
  t.equal(previewOption({ preview: '/dev/errors.v2~-' }, log, DEV), '/dev/errors.v2~-')
  t.equal(previewOption({}, log), undefined, 'the environment defaults to process.env')
  t.same(lines, [], 'no warning')
  for (const [value, shown] of [['', '""'], ['/', '"/"'], ['_errors', '"_errors"'], ['/a/', '"/a/"'], ['//a', '"//a"'], ['/a b', '"/a b"'],
    ['/a?x=1', '"/a?x=1"'], ['/:status', '"/:status"'], ['/*', '"/*"'], [true, 'true'], [5, '5'], [null, 'null']] as const) {
    t.equal(refusal(t, () => previewOption({ preview: value }, warnings().log, DEV), `preview ${shown}`),
      `invalid fastify-flask-errors option: preview must be a path such as '/_errors' (letters, digits, . _ ~ - between slashes) or false, got ${shown}`)
  }
  t.equal(previewOption({ preview: '/_errors' }, log, PRODUCTION), undefined, 'not mounted on production')
  t.same(lines, ['preview "/_errors" is not mounted because NODE_ENV is "production": the error page preview runs only where NODE_ENV is unset, "development" or "test" ' +
    '(any case, spaces ignored); give debug: \'force\' in the same registration to mount it anyway'], 'one warning that says the rule and the override')
  t.equal(previewOption({ preview: '/_errors', debug: 'force' }, log, PRODUCTION), '/_errors', "debug: 'force' mounts it")
  t.equal(previewOption({ preview: '/_errors', debug: true }, log, { NODE_ENV: ' Test ' }), '/_errors')
  t.equal(lines.length, 1)
})

t.test('notFoundHooks: route hooks, a function or a list for preValidation and preHandler, refused otherwise with the fix', async (t) => {
  const hook = async (): Promise<void> => {}
  /** Registers the plugin with `notFoundHooks: value` in a fresh app; the registration's error, if any. */
  async function register (value: unknown): Promise<unknown> {
    const app = Fastify()
    t.teardown(() => app.close())
    try {
      await app.register(flaskErrors, { notFoundHooks: value as never })
      await app.ready()
    } catch (error) {
      return error
    }
    return undefined
  }
  for (const value of [{}, { preHandler: hook }, { preValidation: [hook, hook] }, { preHandler: [] }, { preHandler: undefined, preValidation: hook }, undefined]) {
    t.equal(await register(value), undefined, `accepted: ${JSON.stringify(value, (key, v: unknown) => typeof v === 'function' ? 'fn' : v) ?? 'undefined'}`)
  }
  const refused: Array<[unknown, string]> = [
    [hook, 'notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, e.g. { preHandler: app.rateLimit() }, got function hook'],
    [[hook], 'notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, e.g. { preHandler: app.rateLimit() }, got a list (say where its hooks run: { preHandler: [...] })'],
    [null, 'notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, e.g. { preHandler: app.rateLimit() }, got null'],
    ['rateLimit', 'notFoundHooks must be an object { preValidation?, preHandler? } of route hooks, e.g. { preHandler: app.rateLimit() }, got "rateLimit"'],
    [{ onRequest: hook }, 'notFoundHooks takes preValidation and preHandler, got unknown key "onRequest" (other hooks: app.addHook in the context, which covers its 404s too)'],
    [{ preHandler: 'limit' }, 'notFoundHooks.preHandler must be a hook function (request, reply, done) or async (request, reply), or a list of them, got "limit"'],
    [{ preValidation: [hook, 1] }, 'notFoundHooks.preValidation must be a hook function (request, reply, done) or async (request, reply), or a list of them, got a list holding 1'],
    [{ preHandler: [undefined] }, 'notFoundHooks.preHandler must be a hook function (request, reply, done) or async (request, reply), or a list of them, got a list holding undefined']
  ]
  for (const [value, message] of refused) {
    const error = await register(value)
    t.type(error, FFE_INVALID_OPTION, message)
    t.equal((error as Error | undefined)?.message, `invalid fastify-flask-errors option: ${message}`)
  }
})

t.test('notFoundHooks: a list changed after registration does not change what runs', async (t) => {
  const ran: string[] = []
  const hooks = [async (): Promise<void> => { ran.push('given') }]
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors, { notFoundHooks: { preHandler: hooks } })
  hooks.push(async () => { ran.push('added later') })
  t.equal((await app.inject('/unknown')).statusCode, 404)
  t.same(ran, ['given'])
})

/** The registration error of the plugin with `options` in a fresh app. */
async function registrationError (t: Test, options: unknown): Promise<unknown> {
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(flaskErrors, options as FlaskErrorsOptions)
  } catch (error) {
    return error
  }
  return undefined
}

t.test('report options are refused at registration with FFE_INVALID_OPTION, like every other option', async (t) => {
  const reporter = (): void => {}
  const reportersMust = 'report must be a function or a list of functions, got'
  const statusesMust = 'reportWhen must be a list of HTTP status codes (integers 100-599) or a function (status, error) => boolean, got'
  const msMust = (name: string): string => `${name} must be an integer number of ms from 1 to 2147483647, got`
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ report: 'mail' }, `${reportersMust} "mail"`],
    [{ report: [reporter, 42] }, `${reportersMust} a list containing 42`],
    [{ report: [false] }, `${reportersMust} a list containing false`],
    [{ report: {} }, `${reportersMust} Object object`],
    [{ report: reporter, reportWhen: 'always' }, `${statusesMust} "always"`],
    [{ report: reporter, reportWhen: [500, 700] }, `${statusesMust} a list containing 700`],
    [{ report: reporter, reportWhen: [99] }, `${statusesMust} a list containing 99`],
    [{ report: reporter, reportWhen: [404.5] }, `${statusesMust} a list containing 404.5`],
    [{ report: reporter, reportWhen: ['500'] }, `${statusesMust} a list containing "500"`],
    [{ report: reporter, reportWhen: [null] }, `${statusesMust} a list containing null`],
    [{ report: reporter, reportTimeout: 0 }, `${msMust('reportTimeout')} 0`],
    [{ report: reporter, reportTimeout: -5 }, `${msMust('reportTimeout')} -5`],
    [{ report: reporter, reportTimeout: 1.5 }, `${msMust('reportTimeout')} 1.5`],
    [{ report: reporter, reportTimeout: Infinity }, `${msMust('reportTimeout')} Infinity`],
    [{ report: reporter, reportTimeout: NaN }, `${msMust('reportTimeout')} NaN`],
    [{ report: reporter, reportTimeout: 2 ** 31 }, `${msMust('reportTimeout')} 2147483648`],
    [{ report: reporter, reportTimeout: '10s' }, `${msMust('reportTimeout')} "10s"`],
    [{ report: reporter, reportDedupeWindow: 0 }, `${msMust('reportDedupeWindow')} 0`],
    [{ report: reporter, reportRateLimit: 0 }, 'reportRateLimit must be an integer from 1 to 9007199254740991, got 0'],
    [{ report: reporter, reportRateLimit: true }, 'reportRateLimit must be an integer from 1 to 9007199254740991, got true'],
    // Checked even without a reporter: a typo must not wait until someone adds one.
    [{ reportTimeout: -1 }, `${msMust('reportTimeout')} -1`]
  ]
  for (const [options, message] of bad) {
    const error = await registrationError(t, options)
    const label = JSON.stringify(options, (_key, value: unknown) => typeof value === 'function' ? 'fn' : value)
    t.type(error, FFE_INVALID_OPTION, label)
    t.match(error, { code: 'FFE_INVALID_OPTION', message: `invalid fastify-flask-errors option: ${message}` }, label)
    t.type(error, FFE_BAD_REPORTER, 'the deprecated names are the same class')
    t.type(error, FFE_BAD_REPORT_WHEN)
    t.type(error, FFE_BAD_REPORT_OPTION)
  }
  for (const options of [{}, { report: [] }, { report: null }, { report: [null, reporter] }, { report: reporter, reportWhen: [500, 503], reportTimeout: 1, reportRateLimit: 1 }]) {
    t.equal(await registrationError(t, options), undefined, JSON.stringify(options, (_key, value: unknown) => typeof value === 'function' ? 'fn' : value))
  }
})
