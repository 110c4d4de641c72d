import { computeHeadline } from '../../../bench/headline';
import { type BenchResult, findLosses, renderReport } from '../../../bench/report';
import { summarize } from '../../../bench/stats';
import { aResult, LIMITS } from './result-fixture';

const withHeadline = (measured: ReturnType<typeof aResult>, losses: string[] = []): BenchResult => ({
  ...measured,
  losses,
  headline: computeHeadline(measured, LIMITS),
});

describe('bench report', () => {
  it('prints medians with their spread and n, and ratios taken from the same result', () => {
    // Prepare
    const measured = aResult();
    // Act
    const markdown = renderReport(withHeadline(measured, findLosses(measured)));
    // Assess
    expect(markdown).toContain('110.0 (p25–p75 105.0–115.0, min–max 100.0–120.0, n=3)');
    expect(markdown).toContain('| 0.50× |'); // bundled / external load: 110 / 220
    expect(markdown).toContain('| 20 (p25–p75 20–20, min–max 20–20, n=3) | 5 | 4.00× |');
    expect(markdown).toContain(
      '| sg-ssh-open-to-world | ssh-open-to-world | 1,000 | 600 | 1,500 | 2 | 96 | 10 | 0.50× | 0.03× |',
    );
    expect(markdown).toContain('c7n 0.9.53');
    expect(markdown).toContain(
      '330.0 (p25–p75 315.0–345.0, min–max 300.0–360.0, n=3) ms, against our median bundle load of 110.0 ms: 3.00×',
    );
    expect(markdown).toContain('| 1,000 | 200 | 50.0 | 20.0 | 15.0 | 200 | 0 | 200 | 0 | 200 | none |');
  });

  it('says how many units our enforce sweep took and the longest, after its outcome', () => {
    // Act
    const markdown = renderReport(withHeadline(aResult()));
    // Assess
    expect(markdown).toContain('| remediated 10; 2 units, the longest 2,400 ms | |');
    expect(markdown).toContain('each an invocation whose clock counts down from 60 s');
  });

  it('writes the cost formula with its inputs and the price source', () => {
    // Prepare
    const measured = aResult();
    // Act
    const markdown = renderReport(withHeadline(measured));
    // Assess
    expect(markdown).toContain(
      '1,000,000 × (50 ms / 1000 × 140 MB / 1024 × $0.0000133334 per GB-s + $0.0000002 per request)',
    );
    expect(markdown).toContain('https://aws.amazon.com/lambda/pricing/');
  });

  it('says where we lose, from the figures: extra calls, and a faster or cheaper Cloud Custodian', () => {
    // Act
    const losses = findLosses(aResult());
    // Assess
    expect(losses).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          'ssh-open-to-world on AuthorizeSecurityGroupIngress: 20 AWS calls where 5 would do (4.00×)',
        ),
        expect.stringContaining('60 calls against a minimum of 21 (2.86×)'),
        expect.stringContaining("Cloud Custodian's sg-ssh-open-to-world ran faster"),
        expect.stringContaining('Cloud Custodian made fewer API calls'),
      ]),
    );
    expect(losses.some((loss) => loss.includes('loads slower'))).toBe(false);
  });

  it('names duplicates from a storm as a loss, and a slower bundle too', () => {
    // Prepare
    const measured = aResult({
      storm: { ...aResult().storm, duplicateIncidents: 1, duplicateAlerts: 2 },
      bundles: [
        {
          name: 'heavy',
          bundled: { rawBytes: 1, gzipBytes: 1, loadMs: summarize([300]) },
          external: { rawBytes: 1, gzipBytes: 1, loadMs: summarize([100]) },
        },
      ],
    });
    // Act
    const losses = findLosses(measured);
    // Assess
    expect(losses).toContain('The storm produced duplicates: 1 extra incidents, 2 extra alerts.');
    expect(losses.some((loss) => loss.startsWith('heavy: the bundled module loads slower'))).toBe(true);
  });

  it('says when Cloud Custodian could not be measured instead of printing a number, and marks a quick run', () => {
    // Prepare
    const measured = aResult({ scale: 'quick', custodian: { unavailable: 'pip failed' } });
    // Act
    const markdown = renderReport(withHeadline(measured));
    // Assess
    expect(markdown).toContain('Not measured: pip failed.');
    expect(markdown).toContain('quick scale');
    expect(markdown).toContain('Nowhere in this run’s figures.');
  });
});

describe("the report's emulator section", () => {
  it('shows one transaction figure with and without the moto patch, and their ratio, from the run', () => {
    // Act
    const report = renderReport(withHeadline(aResult()));
    // Assess
    expect(report).toContain('| item-level backup (the patch; every figure in this report) | 5.0 (');
    expect(report).toContain('`MOTO_WHOLE_TABLE_BACKUP=1`) | 500.0 (');
    expect(report).toContain('| ratio, patched / moto alone | 0.01× |');
  });
});
