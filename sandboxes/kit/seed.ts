import type { ContactInput, Email, Phone } from '../sandbox/types';

// Deterministic, realistic people for tests, the demo and the benchmark.
//
// A person's identity (name, company, emails, phone digits, address) depends on its index alone; the details a
// second app would hold differently (phone formatting, an occasional other job title, tags, owner, notes) also
// depend on the seed. So two instances seeded over overlapping index ranges share exactly the people in the
// overlap, matched by email, with the small differences a real pair of apps shows:
//   A: seed 1, persons 0..N-1      B: seed 2, persons N/2..3N/2-1   → half of A's people exist in B too.
// Indices never share an email, whatever the seeds.

const FIRST_NAMES = [
  'Anna', 'Ben', 'Chloé', 'Daniel', 'Elena', 'Farid', 'Grace', 'Hiroshi', 'Ingrid', 'Jamal', 'Katarzyna', 'Liam',
  'Maya', 'Noah', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Samuel', 'Tanvi', 'Ulrich', 'Valentina', 'Wei', 'Ximena',
  'Yusuf', 'Zoë', 'Amara', 'Björn', 'Camille', 'Dmitri', 'Esther', 'Felipe', 'Giulia', 'Hamza', 'Isla', 'Jonas',
  'Kenji', 'Lucía', 'Mateo', 'Nadia', 'Oscar', 'Priya', 'Rafael', 'Sofia', 'Tomás', 'Uma', 'Viktor', 'Wanjiru',
];
const LAST_NAMES = [
  'Keller', 'Nakamura', 'Okafor', 'Fernández', 'Novak', 'Haddad', 'Lindqvist', "O'Brien", 'Rossi', 'Kowalski',
  'Dubois', 'Chen', 'Schmidt', 'Patel', 'Moreau', 'Ivanova', 'Santos', 'Müller', 'Johansson', 'García', 'Kim',
  'Mensah', 'Bianchi', 'Horvat', 'van Dijk', 'Costa', 'Yilmaz', 'Andersen', 'Nguyen', 'MacLeod', 'Silva', 'Weber',
  'Tanaka', 'Popescu', 'Ahmed', 'Larsen', 'de Vries', 'Kaur', 'Romero', 'Fischer',
];
const COMPANIES = [
  'Northwind Logistics', 'Bluebird Analytics', 'Acme Robotics', 'Globex Energy', 'Initech Software', 'Umbrella Health',
  'Stark Components', 'Wayne Foods', 'Cyberdyne Labs', 'Soylent Farms', 'Hooli Cloud', 'Vandelay Imports',
  'Tyrell Biotech', 'Oceanic Travel', 'Pied Piper Media', 'Gringotts Finance', 'Monarch Consulting', 'Aperture Optics',
  'Wonka Confectionery', 'Massive Dynamic', 'Nakatomi Trading', 'Duff Beverages', 'Prestige Worldwide', 'Dunder Paper',
];
const JOB_TITLES = [
  'Account Executive', 'Sales Manager', 'Head of Procurement', 'CFO', 'Office Manager', 'Software Engineer',
  'Marketing Director', 'Operations Lead', 'Customer Success Manager', 'Founder & CEO', 'IT Administrator',
  'Purchasing Agent', 'VP Sales', 'Product Manager', 'Legal Counsel', 'HR Business Partner', 'Data Analyst',
];
const CITIES: [city: string, region: string | null, postal: string, country: string, street: string][] = [
  ['Berlin', null, '10115', 'Germany', 'Invalidenstraße'],
  ['Lyon', 'Auvergne-Rhône-Alpes', '69002', 'France', 'Rue de la République'],
  ['Austin', 'TX', '78701', 'United States', 'Congress Avenue'],
  ['Toronto', 'ON', 'M5V 2T6', 'Canada', 'King Street West'],
  ['Kraków', 'Małopolskie', '31-001', 'Poland', 'ul. Floriańska'],
  ['Osaka', 'Osaka', '530-0001', 'Japan', 'Umeda'],
  ['Bristol', null, 'BS1 4DJ', 'United Kingdom', 'Queen Square'],
  ['São Paulo', 'SP', '01310-100', 'Brazil', 'Avenida Paulista'],
  ['Nairobi', null, '00100', 'Kenya', 'Moi Avenue'],
  ['Melbourne', 'VIC', '3000', 'Australia', 'Collins Street'],
  ['Bratislava', null, '811 01', 'Slovakia', 'Obchodná'],
  ['Denver', 'CO', '80202', 'United States', 'Larimer Street'],
];
const TAGS = ['customer', 'prospect', 'partner', 'vip', 'newsletter', 'event-2024', 'supplier', 'churn-risk'];
const OWNERS = ['ava@sandbox.test', 'marco@sandbox.test', 'lena@sandbox.test', 'sam@sandbox.test'];
const NOTES = [
  'Met at the spring trade fair.',
  'Prefers calls in the morning.',
  'Asked for a quote on the premium plan.',
  'Introduced by a mutual client.',
  'Follow up after the budget review.',
];

/** mulberry32 seeded by a string hash: small, fast and the same on every platform. */
function random(...parts: (string | number)[]): () => number {
  let h = 2166136261;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)];

/** ASCII, lower-case, dots for spaces: what a company's mail server would make of a name. */
function slug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ł/g, 'l')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.|\.$/g, '');
}

// Fictional numbers (555-01xx in North America, Ofcom drama ranges elsewhere), in the formats people type.
function formatPhone(digits: string, style: number): string {
  const [a, b, c] = [digits.slice(0, 3), digits.slice(3, 6), digits.slice(6, 10)];
  switch (style % 5) {
    case 0:
      return `+1 (${a}) ${b}-${c}`;
    case 1:
      return `+1${a}${b}${c}`;
    case 2:
      return `${a}-${b}-${c}`;
    case 3:
      return `(${a}) ${b} ${c}`;
    default:
      return `+1.${a}.${b}.${c}`;
  }
}

export interface PersonOptions {
  /** Domain of work emails; by default each company's own domain. */
  emailDomain?: string;
}

export function person(index: number, seed = 1, options: PersonOptions = {}): ContactInput {
  const id = random('identity', index);
  const detail = random('detail', seed, index);

  const first = pick(id, FIRST_NAMES);
  const last = pick(id, LAST_NAMES);
  const company = pick(id, COMPANIES);
  const [city, region, postal, country, street] = pick(id, CITIES);
  const houseNumber = 1 + Math.floor(id() * 240);
  const hasPersonalEmail = id() < 0.3;
  const hasWorkPhone = id() < 0.6;
  const hasAddress = id() < 0.8;
  const baseTitle = pick(id, JOB_TITLES);

  const domain = options.emailDomain ?? `${slug(company).replace(/\./g, '-')}.example`;
  // The index in the local part is what keeps every person's email unique across any number of seeds.
  const emails: Email[] = [{ type: 'work', value: `${slug(first)}.${slug(last)}.${index}@${domain}` }];
  if (hasPersonalEmail) emails.push({ type: 'home', value: `${slug(first)}${index}@mail.example.net` });

  const mobileDigits = `555${String(100 + (index % 100)).padStart(3, '0')}${String(index % 10_000).padStart(4, '0')}`;
  const workDigits = `555${String(200 + (index % 100)).padStart(3, '0')}${String((index * 7) % 10_000).padStart(4, '0')}`;
  const style = Math.floor(detail() * 5);
  const phones: Phone[] = [{ type: 'mobile', value: formatPhone(mobileDigits, style) }];
  if (hasWorkPhone) phones.push({ type: 'work', value: formatPhone(workDigits, style + 1) });

  const tagCount = Math.floor(detail() * 3);
  const tags = [...new Set(Array.from({ length: tagCount }, () => pick(detail, TAGS)))];

  return {
    first_name: first,
    last_name: last,
    company,
    job_title: detail() < 0.8 ? baseTitle : pick(detail, JOB_TITLES),
    emails,
    phones,
    address: hasAddress
      ? {
          street: country === 'United States' || country === 'Canada' || country === 'Australia'
            ? `${houseNumber} ${street}`
            : `${street} ${houseNumber}`,
          city,
          region,
          postal_code: postal,
          country,
        }
      : null,
    notes: detail() < 0.4 ? pick(detail, NOTES) : null,
    tags,
    owner: pick(detail, OWNERS),
    unsubscribed: detail() < 0.05,
  };
}

export interface SeedOptions {
  count: number;
  seed?: number;
  /** First person index; by default the instance continues after the people it was seeded with before. */
  start?: number;
  emailDomain?: string;
}

export function people(options: Required<Pick<SeedOptions, 'count' | 'start'>> & SeedOptions): ContactInput[] {
  const out: ContactInput[] = [];
  for (let i = 0; i < options.count; i++) {
    out.push(person(options.start + i, options.seed ?? 1, { emailDomain: options.emailDomain }));
  }
  return out;
}
