// Builds common-passwords.txt: run `./node_modules/.bin/node packages/idp/data/build-common-passwords.ts`.
//
// The real breached-password corpora (Have I Been Pwned, SecLists' top lists) are not available
// offline here, so this list is assembled from the patterns that dominate every published top list:
// well-known base words, names, sports and keyboard walks, each with the usual suffixes (digits,
// years, `!`), capitalized and leet-spelled variants, and digit runs. Only entries of 8 characters
// or more are kept: shorter ones are already refused by the length rule. See README.md for limits.
import { writeFileSync } from 'node:fs';

const words = `password passw0rd pass letmein welcome iloveyou admin administrator root login qwerty
qwertyuiop asdfgh asdfghjkl zxcvbnm zxcvbn qazwsx qwer1234 abc abcd abcdef monkey dragon football
baseball basketball soccer hockey master shadow sunshine princess superman batman spiderman
trustno1 starwars pokemon michael jennifer jordan hunter ranger buster thomas robert daniel
charlie andrew matthew joshua jessica ashley amanda nicole michelle hannah sophie olivia
summer winter spring autumn freedom whatever secret computer internet google facebook
samsung apple microsoft windows linux ubuntu cookie chocolate cheese pepper ginger orange
banana purple yellow silver golden diamond flower flowers angel angels killer hello hello123
loveme lovely love lover mylove babygirl baby sweety sweetie tigger tiger lion eagle falcon
mustang ferrari porsche corvette harley yamaha maverick matrix merlin phoenix thunder
blink182 liverpool chelsea arsenal barcelona realmadrid juventus manchester united yankees
cowboys steelers lakers dallas london paris berlin madrid newyork chicago boston
family friends forever happy smile jesus christ heaven blessed faith prayer god
money dollar cash poker casino lucky magic wizard gandalf hobbit frodo naruto goku
ninja pirate zombie monster soldier warrior knight legend hero qwerty123 access
changeme default guest test tester testing demo sample example user username
secure security private system server network database oracle mysql postgres
gatehouse company business office manager service support helpdesk student teacher
school college university summer2024 winter2024 passport welcome1 iloveu
fuckyou fuckoff asshole bitch shit sexy hottie pussy
beautiful princess1 butterfly rainbow unicorn kitten puppy doggy kitty snoopy
garfield scooby mickey minnie donald pluto bubbles peanut buttercup cupcake
charlotte elizabeth victoria alexander benjamin william jackson anthony christopher
nathan justin tyler brandon kevin steven jason david richard joseph
maria mariana carlos jose juan luis ana sofia isabella valentina camila
hallo passwort schatz geheim kennwort motdepasse soleil bonjour azerty contrasena
qwertz 123qwe 1q2w3e4r 1q2w3e 1qaz2wsx zaq12wsx q1w2e3r4 a1b2c3d4 aa123456
abc123 abcd1234 asd123 qwe123 zxc123 myspace myspace1 computer1 internet1`
  .split(/\s+/)
  .filter(Boolean);

const years: string[] = [];
for (let y = 1970; y <= 2030; y++) years.push(String(y));
const suffixes = [
  '',
  '1',
  '12',
  '123',
  '1234',
  '12345',
  '123456',
  '!',
  '1!',
  '123!',
  '01',
  '69',
  '007',
  '2',
  '11',
  '99',
];
// The words that top every published list also appear with a year.
const withYears = words.slice(0, 40);

const leet = (w: string) =>
  w.replace(/a/g, '@').replace(/o/g, '0').replace(/e/g, '3').replace(/i/g, '1').replace(/s/g, '$');

const out = new Set<string>();
const add = (p: string) => {
  if (p.length >= 8 && p.length <= 64) out.add(p.toLowerCase());
};

// Entries are stored lower-case and compared lower-case, so `Password1` needs no entry of its own.
for (const w of words) {
  for (const s of suffixes) add(w + s);
  for (const s of ['', '1', '123', '!']) add(leet(w) + s);
  add(w + w);
}
for (const w of withYears) for (const y of years) add(w + y);

// Digit runs and repeated digits: 12345678, 123456789, 11111111, 87654321, 00000000, 12341234.
for (let n = 8; n <= 12; n++) {
  add('1234567890'.repeat(2).slice(0, n));
  add('0987654321'.repeat(2).slice(0, n));
  for (let d = 0; d <= 9; d++) add(String(d).repeat(n));
}
add('12341234');
add('11223344');
add('112233445566');
add('123123123');
add('123321123');
add('147258369');
add('159753159753');
add('789456123');
add('741852963');
add('147852369');

// Keyboard walks.
for (const walk of [
  'qwertyuiop',
  'asdfghjkl',
  'zxcvbnm,.',
  '1qaz2wsx3edc',
  'qazwsxedc',
  'qwertyui',
  'asdfasdf',
  'qwerqwer',
  'zaq1xsw2',
  '1q2w3e4r5t',
  'q1w2e3r4t5',
  'azertyuiop',
  'qwertzuiop',
]) {
  add(walk);
  add(walk + '1');
  add(walk + '123');
}

// Dates people use: ddmmyyyy and mmddyyyy are too many to list; the common "19xx"/"20xx" runs are above.
const list = [...out].sort();
writeFileSync(new URL('./common-passwords.txt', import.meta.url), list.join('\n') + '\n');
console.log(`wrote ${list.length} passwords`);
