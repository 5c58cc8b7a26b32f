/**
 * Error reports as a reporter sees them (`Reporter`, `ErrorReport`, `RequestSummary`, `ErrorSnapshot`),
 * and the `fastify-flask-errors/mail` entry: `mailReporter`'s options, `mailReporterFromEnv`, the mail
 * error codes, and nothing else (the subject and body formatting are not part of it).
 */
import Fastify from 'fastify'
import nodemailer from 'nodemailer'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import flaskErrors, { ErrorSnapshot, type ErrorReport, type Reporter, type RequestSummary } from 'fastify-flask-errors'
import {
  FFE_BAD_MAIL_ENV, FFE_BAD_MAIL_OPTION, mailReporter, mailReporterFromEnv,
  type MailFromEnvOptions, type MailReporterOptions, type SmtpSettings
} from 'fastify-flask-errors/mail'
import * as mail from 'fastify-flask-errors/mail'

// What a reporter receives.
const reporter: Reporter = (report) => {
  expectType<ErrorReport>(report)
  expectType<unknown>(report.error)
  expectType<number>(report.status)
  expectType<Date>(report.time)
  expectType<number>(report.count)
  expectType<RequestSummary>(report.request)
  expectType<string>(report.request.method)
  expectType<string>(report.request.url)
  expectType<string | undefined>(report.request.route)
  expectType<string>(report.request.requestId)
  expectType<string>(report.request.ip)
  expectType<Record<string, string | string[] | undefined>>(report.request.headers)
  // The trace id (undefined without a span) and the report context ({} when there is none), read-only.
  expectType<string | undefined>(report.traceId)
  expectType<Readonly<Record<string, unknown>>>(report.context)
  expectType<unknown>(report.context.userId)
  expectError(report.context.userId = 7)
  // A summary of repeats carries a bounded snapshot of the error instead of the value.
  if (report.error instanceof ErrorSnapshot) {
    expectType<string>(report.error.type)
    expectType<string | number | undefined>(report.error.code)
    expectAssignable<Error>(report.error)
  }
}
expectAssignable<Reporter>(async (report: ErrorReport) => { await Promise.resolve(report.count) })
expectAssignable<Reporter>(() => {})
// eslint-disable-next-line no-void -- the parameters exist only for their types
expectNotAssignable<Reporter>((report: ErrorReport, extra: string) => { void report; void extra })
// eslint-disable-next-line no-void -- the parameter exists only for its type
expectNotAssignable<Reporter>((report: string) => { void report })
expectError(new ErrorSnapshot(new Error('x')).type = 'changed')

// The mail reporter: SMTP settings or a transporter, a sender, recipients, a subject prefix or function.
const smtp: SmtpSettings = { host: 'smtp.example.com', port: 587, secure: false, requireTLS: true, auth: { user: 'u', pass: 'p' } }
expectType<Reporter>(mailReporter({ smtp, from: 'no-reply@example.com', to: 'admin@example.com' }))
expectType<Reporter>(mailReporter({
  smtp: { host: 'localhost' }, from: 'a@example.com', to: ['b@example.com', 'c@example.com'], subject: '[shop]'
}))
expectType<Reporter>(mailReporter({
  transport: nodemailer.createTransport({ jsonTransport: true }),
  from: '"Shop" <no-reply@example.com>',
  to: 'admin@example.com',
  subject: (report) => `${report.status} ${report.request.url}`
}))
expectAssignable<MailReporterOptions>({ smtp, from: 'a@example.com', to: 'b@example.com' })
expectError(mailReporter({ smtp, to: 'admin@example.com' }))
expectError(mailReporter({ smtp, from: 1, to: 'admin@example.com' }))
expectError(mailReporter({ smtp, from: 'a@example.com', to: 1 }))
expectError(mailReporter({ smtp, from: 'a@example.com', to: 'b@example.com', subject: 1 }))
expectError(mailReporter({ smtp, from: 'a@example.com', to: 'b@example.com', subject: (report: ErrorReport) => report.status }))
expectError(mailReporter({ smtp: { host: 1 }, from: 'a@example.com', to: 'b@example.com' }))
expectError(mailReporter({ smtp: { host: 'h', port: '25' }, from: 'a@example.com', to: 'b@example.com' }))
expectError(mailReporter({ smtp: { host: 'h', auth: { user: 'u' } }, from: 'a@example.com', to: 'b@example.com' }))
expectError(mailReporter({ smtp, from: 'a@example.com', to: 'b@example.com', cc: 'c@example.com' }))
expectError(mailReporter())

// From the environment: off (null) without MAIL_SERVER.
expectType<Reporter | null>(mailReporterFromEnv())
expectType<Reporter | null>(mailReporterFromEnv(process.env))
const env = { MAIL_SERVER: 'smtp.example.com', ADMINS: 'a@example.com' }
expectType<Reporter | null>(mailReporterFromEnv(env, { from: 'shop@example.com', subject: '[shop]' }))
expectAssignable<MailFromEnvOptions>({ subject: () => 'whole subject' })
expectError(mailReporterFromEnv({ MAIL_PORT: 25 }))
expectError(mailReporterFromEnv(process.env, { to: 'admin@example.com' }))
expectError(mailReporterFromEnv(process.env, { from: 1 }))

// A reporter that may be off goes straight into the report list, as the README shows.
const app = Fastify()
await app.register(flaskErrors, { report: [mailReporterFromEnv(), reporter] })

// The mail codes are @fastify/error classes.
expectAssignable<Error>(new FFE_BAD_MAIL_OPTION('from', 'an address', '1'))
expectAssignable<Error>(new FFE_BAD_MAIL_ENV('MAIL_PORT', 'a port', '"x"'))
expectType<string>(new FFE_BAD_MAIL_ENV('MAIL_PORT', 'a port', '"x"').code)

// Test helpers are not part of the entry.
expectError(mail.formatError)
expectError(mail.formatReportText)
expectError(mail.defaultSubject)
expectError(mail.smtpSettingsFromEnv)
