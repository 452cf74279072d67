/** IPv4 arithmetic for subnet checks. */
function toInt(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** true when `ip` lies in `cidr` (e.g. 10.4.0.7 in 10.4.0.0/24). */
export function ipInSubnet(ip: string, cidr: string): boolean {
  const [base = '', bitsText = ''] = cidr.split('/');
  const a = toInt(ip);
  const b = toInt(base);
  const bits = Number(bitsText);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}
