import { createHmac } from 'node:crypto';

/** A Dependabot alert as GitHub delivers it (trimmed of the many repository/sender URL fields). */
export const DEPENDABOT_DELIVERY_ID = '9f3c2a70-f6a1-11f0-8a5e-5e2b1d9c7a41';
export const dependabotHeaders = (deliveryId = DEPENDABOT_DELIVERY_ID): Record<string, string> => ({
  'user-agent': 'GitHub-Hookshot/a1b2c3d',
  'x-github-event': 'dependabot_alert',
  'x-github-delivery': deliveryId,
  'x-github-hook-id': '482913377',
  'x-github-hook-installation-target-id': '734219901',
  'x-github-hook-installation-target-type': 'repository',
});

export const dependabotAlert = {
  action: 'created',
  alert: {
    number: 7,
    state: 'open',
    dependency: { package: { ecosystem: 'npm', name: 'lodash' }, manifest_path: 'package-lock.json', scope: 'runtime' },
    security_advisory: {
      ghsa_id: 'GHSA-35jh-r3h4-6jhm',
      cve_id: 'CVE-2021-23337',
      summary: 'Command Injection in lodash',
      description: '`lodash` versions prior to 4.17.21 are vulnerable to Command Injection via the template function.',
      severity: 'high',
      identifiers: [
        { value: 'GHSA-35jh-r3h4-6jhm', type: 'GHSA' },
        { value: 'CVE-2021-23337', type: 'CVE' },
      ],
      references: [{ url: 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337' }, { url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm' }],
      published_at: '2021-05-06T16:05:51Z',
      updated_at: '2024-02-15T22:33:56Z',
      withdrawn_at: null,
      vulnerabilities: [
        {
          package: { ecosystem: 'npm', name: 'lodash' },
          severity: 'high',
          vulnerable_version_range: '< 4.17.21',
          first_patched_version: { identifier: '4.17.21' },
        },
      ],
      cvss: { vector_string: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2 },
      cwes: [
        { cwe_id: 'CWE-77', name: "Improper Neutralization of Special Elements used in a Command ('Command Injection')" },
        { cwe_id: 'CWE-94', name: "Improper Control of Generation of Code ('Code Injection')" },
      ],
    },
    security_vulnerability: {
      package: { ecosystem: 'npm', name: 'lodash' },
      severity: 'high',
      vulnerable_version_range: '< 4.17.21',
      first_patched_version: { identifier: '4.17.21' },
    },
    url: 'https://api.github.com/repos/acme-corp/agent-gateway/dependabot/alerts/7',
    html_url: 'https://github.com/acme-corp/agent-gateway/security/dependabot/7',
    created_at: '2026-03-02T09:14:07Z',
    updated_at: '2026-03-02T09:14:08Z',
    dismissed_at: null,
    dismissed_by: null,
    dismissed_reason: null,
    dismissed_comment: null,
    fixed_at: null,
    auto_dismissed_at: null,
  },
  repository: {
    id: 734219901,
    node_id: 'R_kgDOK8NjfQ',
    name: 'agent-gateway',
    full_name: 'acme-corp/agent-gateway',
    private: true,
    owner: { login: 'acme-corp', id: 91234567, type: 'Organization' },
    html_url: 'https://github.com/acme-corp/agent-gateway',
    default_branch: 'main',
  },
  organization: { login: 'acme-corp', id: 91234567 },
  sender: { login: 'github', id: 9919, type: 'Organization' },
};

/** A Snyk project_snapshot with two new issues, shaped as Snyk's aggregated issues. */
export const SNYK_TRANSPORT_ID = '998fe884-18a0-45db-8ae0-e379eea3bc0a';
export const snykHeaders: Record<string, string> = {
  'user-agent': 'Snyk-Webhooks/044aadd',
  'x-snyk-event': 'project_snapshot/v0',
  'x-snyk-transport-id': SNYK_TRANSPORT_ID,
  'x-snyk-timestamp': '2026-03-02T11:30:15Z',
  'x-hub-signature': 'sha256=7d38cdd689735b008b3c702edd92eea23791c5f6a1c2e0f1b7d6e5c4b3a29180',
};

const snykIssue = (id: string, pkgName: string, version: string, title: string, severity: string, cve: string, cwe: string, cvssScore: number) => ({
  id,
  issueType: 'vuln',
  pkgName,
  pkgVersions: [version],
  issueData: {
    id,
    title,
    severity,
    url: `https://security.snyk.io/vuln/${id}`,
    identifiers: { CVE: [cve], CWE: [cwe] },
    credit: ['Unknown'],
    exploitMaturity: 'proof-of-concept',
    semver: { vulnerable: ['<1.6.0'] },
    publicationTime: '2023-11-08T09:18:31.517Z',
    disclosureTime: '2023-11-08T09:18:26.000Z',
    CVSSv3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N',
    cvssScore,
    language: 'js',
    nearestFixedInVersion: '1.6.0',
    isMaliciousPackage: false,
  },
  isPatched: false,
  isIgnored: false,
  fixInfo: { isUpgradable: true, isPinnable: false, isPatchable: false, isFixable: true, isPartiallyFixable: false, nearestFixedInVersion: '1.6.0' },
  priority: { score: 589, factors: [{ name: 'isFixable', description: 'Has a fix available' }] },
});

export const snykSnapshot = {
  project: {
    name: 'acme-corp/agent-gateway:package.json',
    id: 'af137b96-6966-46c1-826b-2e79ac49bbd9',
    created: '2025-10-29T09:50:54.014Z',
    origin: 'github',
    type: 'npm',
    readOnly: false,
    testFrequency: 'daily',
    totalDependencies: 412,
    issueCountsBySeverity: { low: 3, medium: 5, high: 2, critical: 0 },
    lastTestedDate: '2026-03-02T11:30:12.704Z',
    browseUrl: 'https://app.snyk.io/org/acme-corp/project/af137b96-6966-46c1-826b-2e79ac49bbd9',
    isMonitored: true,
    branch: 'main',
  },
  org: { name: 'acme-corp', id: '4a18d42f-0706-4ad0-b127-24078731fbed', slug: 'acme-corp', url: 'https://app.snyk.io/org/acme-corp' },
  group: { name: 'ACME', id: 'a5c0d8a4-05f8-4d1e-9e5a-bd49b1f2a7a1' },
  newIssues: [
    snykIssue('SNYK-JS-AXIOS-6032459', 'axios', '1.5.1', 'Cross-site Request Forgery (CSRF)', 'medium', 'CVE-2023-45857', 'CWE-352', 6.5),
    snykIssue('SNYK-JS-FOLLOWREDIRECTS-6141137', 'follow-redirects', '1.15.2', 'Improper Input Validation', 'critical', 'CVE-2023-26159', 'CWE-20', 9.1),
  ],
  removedIssues: [],
};

/** A generic scanner alert: the well-known fields plus details of its own. */
export const genericAlert = {
  source: 'trivy',
  event_type: 'vulnerability.detected',
  severity: 'CRITICAL',
  package: { name: 'openssl', ecosystem: 'debian', version: '3.0.11-1~deb12u1' },
  advisory_ids: ['DSA-5532-1'],
  cve_id: 'CVE-2023-5363',
  repo: 'ghcr.io/acme-corp/agent-gateway',
  url: 'https://avd.aquasec.com/nvd/cve-2023-5363',
  title: 'openssl: Incorrect cipher key and IV length processing',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  delivery_id: 'trivy-scan-8812',
  timestamp: '2026-03-02T10:00:00.123456Z',
  fixed_version: '3.0.13-1~deb12u1',
  cvss_score: 7.5,
  scanner: { name: 'trivy', version: '0.50.1', db: { updated_at: '2026-03-02T06:00:00Z' } },
  layers: [{ digest: 'sha256:0a1b', diff_id: 'sha256:9f8e' }],
};

/** The signature headers of a delivery: v1 = hex HMAC-SHA256 of "<timestamp>.<body>" per secret. */
export function signedHeaders(body: string, timestamp: number, secrets: readonly string[]): Record<string, string> {
  const values = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  return { 'x-aitracer-delivery-timestamp': String(timestamp), 'x-aitracer-signature': values.join(',') };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
