/**
 * A real SMTP server (smtp-server) on loopback for the mail tests: it keeps every message it
 * receives, with the headers and the single text part decoded as a mail reader would.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'
import type { AddressInfo } from 'node:net'

/** One mail as the SMTP server received it, headers and body decoded. */
export interface Received {
  envelope: { from: string, to: string[] }
  headers: Record<string, string>
  subject: string
  text: string
  raw: string
}

/** Bytes of `=XX` escapes and plain characters. */
function qpBytes (text: string, underscoreIsSpace: boolean): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else if (char === '_' && underscoreIsSpace) {
      bytes.push(0x20)
    } else {
      bytes.push(...Buffer.from(char, 'utf8'))
    }
  }
  return Buffer.from(bytes)
}

/** RFC 2047 encoded words; adjacent words are joined before UTF-8 decoding (a character may be split between them). */
function decodeHeader (value: string): string {
  const joined = value.replace(/\?=\s+=\?/g, '?==?')
  return joined.replace(/(?:=\?[^?]+\?[QqBb]\?[^?]*\?=)+/g, (run) => {
    const bytes: Buffer[] = []
    for (const [, , encoding, data] of run.matchAll(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g)) {
      bytes.push(encoding.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : qpBytes(data, true))
    }
    return Buffer.concat(bytes).toString('utf8')
  })
}

/** Splits a raw RFC 5322 message and decodes its single text part (quoted-printable, base64 or 7bit). */
function parseMail (raw: string, envelope: Received['envelope']): Received {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ')
  const body = raw.slice(split + 4)
  const headers: Record<string, string> = {}
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase()
  let text: string
  if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  else if (encoding === 'quoted-printable') text = qpBytes(body.replace(/=\r\n/g, ''), false).toString('utf8')
  else text = body
  return { envelope, headers, subject: decodeHeader(headers.subject ?? ''), text: text.replace(/\r\n/g, '\n'), raw }
}

/** A real SMTP server on loopback, port 0, keeping what it receives. */
export async function startSmtp (t: { teardown: (fn: () => Promise<void>) => void }, options: SMTPServerOptions = {}): Promise<{ port: number, mails: Received[], arrived: (n: number) => Promise<void> }> {
  const mails: Received[] = []
  const waiters: Array<{ n: number, resolve: () => void }> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const envelope = {
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((address) => address.address)
        }
        mails.push(parseMail(Buffer.concat(chunks).toString('latin1'), envelope))
        for (const waiter of waiters.filter((w) => mails.length >= w.n)) waiter.resolve()
        callback()
      })
    },
    ...options
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.server.address() as AddressInfo
  const arrived = (n: number): Promise<void> => mails.length >= n
    ? Promise.resolve()
    : new Promise((resolve) => waiters.push({ n, resolve }))
  return { port, mails, arrived }
}
