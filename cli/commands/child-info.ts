/**
 * `trails child-info [--name NAME] [--parent ID] [--sec-level TIER] [--deadline S] [--tags JSON] [--export VAR]`:
 * a new child UUID, its intent declared (POST /api/v1/children: scheduled,
 * start_failed if it does not register in time), and its TRAILS_INFO.
 *
 * The child's tier: --sec-level, else the parent's own when this shell is
 * the parent (its TRAILS_INFO says it), else open. Open is what any client
 * speaks, the reference Python client included; a child declared signed
 * that cannot sign is refused tier_mismatch on every try.
 */
import { randomUUID } from 'node:crypto';
import { str } from '../args.js';
import { SEC_LEVELS, type SecLevel } from '../../protocol/frames.js';
import { childConfig, encodeTrailsInfo, withJoinToken } from '../../client/config.js';
import type { JsonValue } from '../../protocol/frames.js';
import { parseJsonArg, usageError } from '../errors.js';
import { maxPositionals, target, usageOf, type Command } from './common.js';
import { gatewayConfig, shellQuote } from './trails-info.js';

const usage = usageOf('child-info');
const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const childInfo: Command = {
  name: 'child-info',
  spec: { name: 'string', parent: 'string', 'sec-level': 'string', deadline: 'string', tags: 'string', export: 'string' },
  async run(p, ctx) {
    maxPositionals(p, 0, usage);
    const parentId = target(p, ctx, usage, 'parent');
    const name = str(p, 'name') ?? 'child';
    if (name.length === 0 || name.length > 256) throw usageError('--name must be 1 to 256 characters', usage);
    const deadlineText = str(p, 'deadline') ?? '300';
    if (!/^\d{1,6}$/.test(deadlineText) || Number(deadlineText) < 1 || Number(deadlineText) > 604_800) {
      throw usageError(`--deadline must be whole seconds from 1 to 604800, not "${deadlineText}"`, usage);
    }
    const startDeadline = Number(deadlineText);
    const tagsText = str(p, 'tags');
    const tags = tagsText === undefined ? undefined : parseJsonArg(tagsText, '--tags', usage);
    if (tags !== undefined && (tags === null || typeof tags !== 'object' || Array.isArray(tags))) throw usageError('--tags must be a JSON object', usage);
    const exportVar = str(p, 'export');
    if (exportVar !== undefined && !VAR.test(exportVar)) throw usageError(`--export must be a shell variable name, not "${exportVar}"`, usage);

    const tierText = str(p, 'sec-level');
    if (tierText !== undefined && !SEC_LEVELS.includes(tierText as SecLevel)) throw usageError(`--sec-level must be one of ${SEC_LEVELS.join(', ')}, not "${tierText.slice(0, 40)}"`, usage);

    const info = ctx.settings.info;
    // The child inherits the parent's gateway and key: from the parent's own TRAILS_INFO when this is the parent.
    const own = info && info.appId === parentId ? info : undefined;
    const secLevel = (tierText as SecLevel | undefined) ?? own?.secLevel ?? 'open';
    const base = own ?? (await gatewayConfig(ctx, parentId, null, 'parent', secLevel));
    const appId = randomUUID();
    const config = childConfig({ ...base, secLevel }, name, { appId, startDeadline, now: ctx.now(), ...(tags ? { tags: tags as Record<string, JsonValue> } : {}) });
    const declared = await ctx.api.declareChild({
      parentId,
      appId,
      appName: name,
      startDeadline,
      secLevel: config.secLevel,
      ...(tags ? { tags: tags as Record<string, JsonValue> } : {}),
    });
    // The child's own join token rides in its serverEp (registration gate): readers of serverEp alone carry it unchanged.
    if (declared.join_token) config.serverEp = withJoinToken(config.serverEp, declared.join_token);
    const trailsInfo = encodeTrailsInfo(config);
    if (ctx.settings.json) ctx.out.json({ appId, parentId, appName: name, startDeadline, secLevel: config.secLevel, trailsInfo });
    else if (exportVar) ctx.out.out(`export ${exportVar}=${shellQuote(trailsInfo)} ${exportVar}_APP_ID=${shellQuote(appId)}`);
    else ctx.out.out(trailsInfo);
    return 0;
  },
};
