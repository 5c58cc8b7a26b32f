/**
 * `fastify-flask-errors/mail`, the subpath entry (package.json `exports`): what an application calls
 * to mail error reports to its administrators, and nothing else. A subpath of its own, so that only
 * applications that import it need `nodemailer` (an optional peer dependency). The subject and body
 * formatting stay internal to lib/; the tests that check them import lib/ directly.
 *
 * @example
 * import { mailReporterFromEnv } from 'fastify-flask-errors/mail'
 * await app.register(flaskErrors, { report: mailReporterFromEnv() })
 */
export { FFE_BAD_MAIL_ENV, FFE_BAD_MAIL_OPTION, mailReporter, mailReporterFromEnv } from './mail.js'
export type { MailFromEnvOptions, MailReporterOptions, SmtpSettings } from './mail.js'
