import { createHash } from 'node:crypto';
import { IncidentStatus } from '../../../shared/pipeline/lifecycle';
import { aggregate, type Report } from '../../../shared/report/aggregate';
import { CHART_IDS, escapeHtml, renderHtml } from '../../../shared/report/html';
import { renderMarkdown } from '../../../shared/report/markdown';
import { formatDuration } from '../../../shared/report/wording';
import { anIncident } from '../../support/incident';
import { aGrant } from '../../support/ssh';

const HOSTILE = '</script><img src=x onerror=alert(1)> | `x` *y*';
/** Stands in for Chart.js: the renderer inlines whatever text it is given. */
const FAKE_CHART_JS = 'window.Chart = function () {};\n//# sourceMappingURL=chart.umd.min.js.map\n';

function aReport(): Report {
  return aggregate({
    incidents: [
      anIncident({
        incidentId: 'inc-1',
        detectedAt: '2026-11-03T10:00:00.000Z',
        hipaa: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
        resourceId: HOSTILE,
        steps: [{ action: 'Verify', at: '2026-11-03T10:04:10.000Z', result: 'succeeded' }],
      }),
      anIncident({ incidentId: 'inc-2', detectedAt: '2026-11-04T10:00:00.000Z', status: 'failed' }),
    ],
    grants: [
      {
        ...aGrant({ userName: 'dev-alice' }, 3_600_000),
        createdAt: '2026-11-05T08:00:00.000Z',
        reason: HOSTILE,
      },
    ],
    exemptions: [
      {
        exemptionId: 'exm-20261104T090000-0a1b2c3d',
        ruleId: 'ebs-volume-encrypted',
        hipaa: ['164.312(a)(2)(iv)', '164.312(e)(2)(ii)'],
        resourceArn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc',
        reason: HOSTILE,
        until: '2026-12-01T00:00:00.000Z',
        setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
        setAt: '2026-11-04T09:00:00.000Z',
      },
    ],
    since: new Date('2026-11-02T00:00:00.000Z'),
    until: new Date('2026-11-09T12:00:00.000Z'),
    grantCitations: ['164.312(a)(1)'],
    source: 'table incidents in us-east-1',
  });
}

/** The text of every <script> element, in order. */
const scriptsOf = (html: string) =>
  [...html.matchAll(/<script( type="application\/json" id="report-data")?>([\s\S]*?)<\/script>/g)].map(
    (match) => ({ json: match[1] !== undefined, text: match[2] ?? '' }),
  );

describe('formatDuration', () => {
  it.each([
    [null, '–'],
    [400, '0.4 s'],
    [250_000, '4 min 10 s'],
    [3 * 3_600_000 + 5 * 60_000, '3 h 05 min'],
    [52 * 3_600_000, '2 d 4 h'],
  ])('%p ms reads %p', (ms, expected) => {
    // Act / Assess
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('renderMarkdown', () => {
  it('shows the figures per safeguard, says how double citations count, and escapes table cells', () => {
    // Prepare
    const report = aReport();
    // Act
    const markdown = renderMarkdown(report);
    // Assess
    // found, then one column per status of the lifecycle (open … undone), exemptions, grants, times
    expect(markdown).toContain(
      '| §164.312(a)(2)(iv) Encryption and decryption | 2 | 0 | 0 | 1 | 1 | 0 | 0 | 0 | 0 | 1 | 0 | 4 min 10 s | 4 min 10 s |',
    );
    expect(markdown).toContain(
      '| §164.312(a)(1) Access control | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | – | – |',
    );
    expect(markdown).toContain(
      `| safeguard | found | ${Object.values(IncidentStatus).join(' | ')} | exemptions in force |`,
    );
    expect(markdown).toContain('counts under each of them (1 incident in this period does)');
    expect(markdown).toContain('| 2026-11-02 | 2 | ████████████████████████████████████████ |');
    expect(markdown).not.toContain(HOSTILE);
    expect(markdown).toContain('\\</script\\>\\<img src=x onerror=alert(1)\\> \\| \\`x\\` \\*y\\*');
  });

  it('lists the exemptions in force with who set them, when, until when and why', () => {
    // Act
    const markdown = renderMarkdown(aReport());
    // Assess: the reason is escaped like every other cell
    expect(markdown).toContain('## Exemptions in force at the end of the period (1)');
    expect(markdown).toContain(
      '| exm-20261104T090000-0a1b2c3d | ebs-volume-encrypted | arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc | arn:aws:iam::111122223333:user/oncall-bob | 2026-11-04T09:00:00.000Z | 2026-12-01T00:00:00.000Z | \\</script\\>\\<img src=x onerror=alert(1)\\> \\| \\`x\\` \\*y\\* |',
    );
  });
});

describe('renderHtml', () => {
  it('escapes every record string and embeds the figures as JSON that cannot end its script', () => {
    // Prepare
    const report = aReport();
    // Act
    const html = renderHtml(report, FAKE_CHART_JS);
    // Assess: the hostile text appears only escaped; three scripts, the data parses back to the report
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain(
      `<td>exm-20261104T090000-0a1b2c3d</td><td>ebs-volume-encrypted</td><td>arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc</td><td>arn:aws:iam::111122223333:user/oncall-bob</td><td>2026-11-04T09:00:00.000Z</td><td>2026-12-01T00:00:00.000Z</td><td>${escapeHtml(HOSTILE)}</td>`,
    );
    const scripts = scriptsOf(html);
    expect(scripts.map((script) => script.json)).toEqual([true, false, false]);
    expect(JSON.parse(scripts[0]?.text ?? '')).toEqual(report);
    for (const id of CHART_IDS) expect(html).toContain(`<canvas id="${id}"`);
  });

  it('allows by hash exactly its inline scripts and style, and nothing from anywhere', () => {
    // Prepare
    const html = renderHtml(aReport(), FAKE_CHART_JS);
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    // Act
    const csp = (
      /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? ''
    ).replace(/&#39;/g, "'");
    // Assess
    const directives = Object.fromEntries(
      csp.split('; ').map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1)]),
    );
    const executed = scriptsOf(html).filter((script) => !script.json);
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(executed.map((script) => hash(script.text)));
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(directives['style-src']).toEqual([hash(style)]);
    // No source map (developer tools would fetch it), no address to load anything from
    expect(html).not.toContain('sourceMappingURL');
    expect(html).not.toMatch(/<[^>]*\s(src|href)=/);
    expect(html).not.toMatch(/style="/);
  });

  it('refuses a library text that would end its script element early', () => {
    // Act / Assess
    expect(() => renderHtml(aReport(), 'var s = "</script>";')).toThrow(/<\/script/);
  });
});
