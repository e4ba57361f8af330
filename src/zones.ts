// One Intl.DateTimeFormat per IANA zone, shared by budget periods and query buckets: building one costs
// ~0.3 ms, so a formatter per call or per bucket dominated both. Fields are numeric wall-clock parts
// (24-hour); callers read them with formatToParts. An unknown zone throws RangeError.
const formatters = new Map<string, Intl.DateTimeFormat>();

export function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
