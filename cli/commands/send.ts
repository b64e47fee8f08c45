/** `trails send UUID ACTION [--payload JSON] [--timeout S]`: a control, and the device's answer. */
import { seconds, str } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { parseJsonArg, usageError } from '../errors.js';
import type { JsonValue } from '../../protocol/frames.js';
import { uuidArg, usageOf, type Command } from './common.js';

const usage = usageOf('send');

export const send: Command = {
  name: 'send',
  spec: { payload: 'string', timeout: 'string' },
  async run(p, ctx) {
    if (p.positionals.length !== 2) throw usageError('give the app UUID and the ACTION', usage);
    const appId = uuidArg(p.positionals[0]!, 'UUID', usage);
    const action = p.positionals[1]!;
    if (action.length === 0 || action.length > 256) throw usageError('ACTION must be 1 to 256 characters', usage);
    const payloadText = str(p, 'payload');
    // Checked before anything is sent.
    const payload = payloadText === undefined ? undefined : (parseJsonArg(payloadText, '--payload', usage) as JsonValue);
    const timeoutMs = Math.round((seconds(str(p, 'timeout'), 'timeout', usage, { max: 600 }) ?? 10) * 1000);
    const answer = await ctx.api.control(appId, { action, ...(payload !== undefined ? { payload } : {}), timeoutMs });
    if (ctx.settings.json) ctx.out.json(answer);
    if (answer.status === 'answered' && answer.response?.ack) {
      if (!ctx.settings.json) ctx.out.out(JSON.stringify(answer.response.result ?? null));
      return EXIT.ok;
    }
    if (answer.status === 'answered') {
      ctx.out.err(`trails: app ${appId} refused "${action}": ${answer.response?.error ?? 'no reason given'}`);
      return EXIT.failed;
    }
    if (answer.status === 'timeout') {
      ctx.out.err(`trails: app ${appId} did not answer "${action}" within ${timeoutMs / 1000} s; ${answer.message ?? 'the control stays queued until it expires'}`);
      return EXIT.timeout;
    }
    ctx.out.err(`trails: the control "${action}" to app ${appId} ${answer.status === 'expired' ? 'expired before the device took it' : 'could not be delivered'}${answer.message ? `: ${answer.message}` : ''}`);
    return EXIT.failed;
  },
};
