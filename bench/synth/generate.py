#!/usr/bin/env python3
"""bench/synth/generate.py -- a synthetic multi-user consumer expense set.

Writes CSV (RFC 4180) with the header
    user_id,merchant,description,amount,date,category
sorted by date, as a bank feed of many users would arrive.  Standard
library only; the same arguments (and --seed) give the same bytes.

The rules (users, merchants, statement noise, owners who disagree, amounts
that decide the category) and their parameters are documented in README.md
next to this file; the merchant universe is in merchants.py.

    python3 bench/synth/generate.py --out synth.csv [--users 2000]
        [--days 60] [--expenses 25000] [--seed 42] [--meta meta.csv]
"""
import argparse
import csv
import datetime
import math
import random
import sys

sys.dont_write_bytecode = True      # leave no __pycache__ in the source tree
import merchants as M  # noqa: E402

# Tier of a merchant drawn afresh, by category: national chain, regional
# chain, local merchant of the city, one-off merchant never seen again
TIERS = {
    "Groceries": (0.62, 0.18, 0.15, 0.05),
    "Dining": (0.45, 0.12, 0.33, 0.10),
    "Coffee": (0.60, 0.10, 0.24, 0.06),
    "Fuel": (0.78, 0.14, 0.05, 0.03),
    "Transport": (0.45, 0.10, 0.35, 0.10),
    "Rideshare": (0.92, 0.0, 0.06, 0.02),
    "Utilities": (0.70, 0.0, 0.30, 0.0),
    "Phone & Internet": (0.92, 0.0, 0.05, 0.03),
    "Subscriptions": (0.90, 0.0, 0.0, 0.10),
    "Shopping": (0.58, 0.12, 0.20, 0.10),
    "Electronics": (0.75, 0.05, 0.15, 0.05),
    "Home & Garden": (0.58, 0.12, 0.22, 0.08),
    "Health": (0.35, 0.10, 0.40, 0.15),
    "Pharmacy": (0.80, 0.05, 0.12, 0.03),
    "Personal Care": (0.35, 0.10, 0.40, 0.15),
    "Pets": (0.55, 0.05, 0.30, 0.10),
    "Travel": (0.85, 0.0, 0.10, 0.05),
    "Lodging": (0.70, 0.05, 0.15, 0.10),
    "Entertainment": (0.50, 0.10, 0.28, 0.12),
    "Fees": (1.0, 0.0, 0.0, 0.0),
    "Gifts & Donations": (0.55, 0.0, 0.30, 0.15),
}

# Local merchants per city and category (a city's pool, shared by its users)
LOCAL_POOL = {
    "Groceries": 15, "Dining": 80, "Coffee": 20, "Fuel": 6, "Transport": 12, "Rideshare": 3,
    "Utilities": 2, "Phone & Internet": 2, "Subscriptions": 0, "Shopping": 40, "Electronics": 8,
    "Home & Garden": 15, "Health": 30, "Pharmacy": 6, "Personal Care": 25, "Pets": 8,
    "Travel": 4, "Lodging": 10, "Entertainment": 20, "Gifts & Donations": 12,
}
REGIONAL_PER_REGION = 12

# How often a user buys in a category (relative; recurring bills come on top)
BASE_WEIGHTS = {
    "Groceries": 14, "Dining": 15, "Coffee": 9, "Fuel": 7, "Transport": 4, "Rideshare": 3,
    "Subscriptions": 1, "Shopping": 11, "Electronics": 2, "Home & Garden": 3.5, "Health": 2,
    "Pharmacy": 3.5, "Personal Care": 2, "Pets": 2, "Travel": 0.6, "Lodging": 0.3,
    "Entertainment": 4, "Fees": 1, "Gifts & Donations": 1.5, "Income & Refunds": 0.8,
}
# During a trip, in the destination city
TRIP_WEIGHTS = {
    "Dining": 30, "Coffee": 12, "Rideshare": 12, "Entertainment": 8, "Shopping": 6, "Groceries": 4,
    "Transport": 5, "Fuel": 3, "Pharmacy": 1,
}

# A user's coarser taxonomy: with this probability a user files all of the
# first category under the second
MERGES = [
    ("Coffee", "Dining", 0.12), ("Rideshare", "Transport", 0.15), ("Pharmacy", "Health", 0.12),
    ("Lodging", "Travel", 0.15), ("Subscriptions", "Entertainment", 0.10),
    ("Electronics", "Shopping", 0.10), ("Personal Care", "Shopping", 0.08), ("Pets", "Shopping", 0.05),
    ("Phone & Internet", "Utilities", 0.12), ("Fuel", "Transport", 0.10),
]

# Where a user's occasional slip files an expense (when the merchant names no alternative)
NEIGHBOURS = {
    "Groceries": ["Shopping", "Dining"], "Dining": ["Coffee", "Entertainment", "Groceries"],
    "Coffee": ["Dining"], "Fuel": ["Transport"], "Transport": ["Fuel", "Rideshare", "Travel"],
    "Rideshare": ["Transport", "Travel"], "Utilities": ["Phone & Internet"],
    "Phone & Internet": ["Utilities", "Subscriptions"], "Subscriptions": ["Entertainment"],
    "Shopping": ["Gifts & Donations", "Home & Garden", "Electronics"], "Electronics": ["Shopping"],
    "Home & Garden": ["Shopping"], "Health": ["Pharmacy", "Personal Care"], "Pharmacy": ["Health"],
    "Personal Care": ["Health", "Shopping"], "Pets": ["Shopping"], "Travel": ["Lodging", "Transport"],
    "Lodging": ["Travel"], "Entertainment": ["Dining", "Subscriptions"], "Fees": [],
    "Gifts & Donations": ["Shopping"], "Income & Refunds": [],
}

# Bank statement styles: share of users whose card feed looks like this
BANK_STYLES = [("clean", 0.20), ("raw", 0.30), ("posdebit", 0.14), ("checkcard", 0.14),
               ("authorized", 0.10), ("cardtail", 0.12)]

# Payment processor prefix of a local merchant, by category
PROCESSORS = {
    "Dining": [("", 0.5), ("TST* ", 0.2), ("SQ *", 0.25), ("PP*", 0.05)],
    "Coffee": [("", 0.45), ("SQ *", 0.45), ("TST* ", 0.1)],
    "Shopping": [("", 0.65), ("SQ *", 0.2), ("SP * ", 0.1), ("PAYPAL *", 0.05)],
    "Personal Care": [("", 0.55), ("SQ *", 0.4), ("PAYPAL *", 0.05)],
    "Home & Garden": [("", 0.75), ("SQ *", 0.1), ("IN *", 0.15)],
    "Health": [("", 0.85), ("SQ *", 0.05), ("IN *", 0.1)],
    "Gifts & Donations": [("", 0.7), ("PAYPAL *", 0.2), ("SQ *", 0.1)],
    "Entertainment": [("", 0.6), ("SQ *", 0.25), ("EB *", 0.15)],
}
DEFAULT_PROCESSORS = [("", 0.85), ("SQ *", 0.15)]

PHONE_CARRIERS = ["Verizon", "AT&T", "T-Mobile", "Google Fi", "Mint Mobile", "Cricket Wireless",
                  "Boost Mobile", "Visible", "Metro by T-Mobile", "Consumer Cellular"]
ISPS = ["Comcast Xfinity", "Spectrum", "Cox", "Frontier Communications", "CenturyLink", "Optimum",
        "Starlink"]
GYMS = ["Planet Fitness", "LA Fitness", "24 Hour Fitness", "Anytime Fitness", "Crunch Fitness",
        "Orangetheory", "Equinox", "Peloton"]
APPS = ["CANDY CRUSH", "TINDER", "YOUTUBE", "DISNEY", "HBO MAX", "ROBLOX", "CLASH ROYALE", "DUOLINGO",
        "BUMBLE", "CALM"]
EVENT_WORDS = ["LIVE", "FESTIVAL", "CONCERT", "TOUR", "NIGHT", "SHOW", "GALA", "5K RUN", "EXPO"]
DOW = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]

STATEMENT_WIDTH = 22        # merchant name field of a card statement, in characters


def weighted(rng, pairs):
    """Pick from [(item, weight), ...]."""
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


def zipf_pick(rng, items, s, pops=None):
    """Pick from items with weight pop / rank**s (rank from 1)."""
    pairs = [(it, (pops[i] if pops else 1.0) / (i + 1) ** s) for i, it in enumerate(items)]
    return weighted(rng, pairs)


def lognormal(rng, dist):
    """An amount in dollars from (median, sigma, lo, hi), rounded to cents."""
    med, sigma, lo, hi = dist
    x = med * math.exp(rng.gauss(0.0, sigma))
    return round(min(max(x, lo), hi), 2)


def poisson(rng, lam):
    """A Poisson variate (normal approximation above 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def city_abbr(city):
    """Short city code as statements print it: initials or first three letters."""
    words = city.split()
    return "".join(w[0] for w in words) if len(words) > 1 else city[:3]


def fill_template(rng, template, city):
    """Expand a name template of merchants.py with word parts."""
    parts = {
        "{F}": lambda: rng.choice(M.FIRST_NAMES), "{S}": lambda: rng.choice(M.SURNAMES),
        "{P}": lambda: rng.choice(M.PLACES), "{A}": lambda: rng.choice(M.ADJECTIVES),
        "{N}": lambda: rng.choice(M.NOUNS), "{E}": lambda: rng.choice(M.ETHNIC),
        "{X}": lambda: rng.choice(M.SAINTS), "{C}": lambda: city.title(),
    }
    out = template
    for ph, fn in parts.items():
        while ph in out:
            out = out.replace(ph, fn(), 1)
    return out


class Universe:
    """National chains, regional chains and the local merchants of each city."""

    def __init__(self, seed, zipf_s):
        self.seed = seed
        self.zipf_s = zipf_s
        self.national = M.category_chains()
        self.regional = {}          # (category, region) -> [Chain]
        self.local = {}             # (category, city) -> [Chain]
        self.oneoffs = 0
        self.by_name = {ch.name: ch for chs in self.national.values() for ch in chs}
        for cat, templates in M.REGIONAL_TEMPLATES.items():
            for region in ("NE", "MW", "S", "W"):
                rng = random.Random("%s:regional:%s:%s" % (seed, cat, region))
                seen, chains = set(), []
                while len(chains) < REGIONAL_PER_REGION:
                    name = fill_template(rng, rng.choice(templates), "")
                    if name in seen or name in self.by_name:
                        continue
                    seen.add(name)
                    up = name.upper().replace("'", rng.choice(["", "'", " "]))
                    n = rng.choice([3, 4])
                    forms = [up + " #{s%d}" % n, up + " {s%d}" % n, up]
                    ch = M.Chain(name, forms=forms)
                    ch.category, ch.tier, ch.region = cat, "regional", [region]
                    ch.key = "r:%s:%s" % (cat, name)
                    chains.append(ch)
                self.regional[(cat, region)] = chains

    def make_local(self, rng, cat, city, tier):
        """A new local merchant of category cat in city (name, processor, descriptor)."""
        templates = M.LOCAL_TEMPLATES.get(cat) or ["{A} {N}"]
        name = fill_template(rng, rng.choice(templates), city[0])
        apos = rng.choice(["", "'", " "])
        up = name.upper().replace("'", apos)
        forms = [up]
        if rng.random() < 0.15:
            forms = [up + " #{s1}"]
        proc = weighted(rng, PROCESSORS.get(cat, DEFAULT_PROCESSORS))
        ch = M.Chain(name, forms=forms, proc=proc)
        ch.category, ch.tier = cat, tier
        ch.key = "%s:%s:%s:%s" % ("l" if tier == "local" else "o", city[0], cat, name)
        if tier == "oneoff":
            self.oneoffs += 1
            ch.key += ":%d" % self.oneoffs
        return ch

    def local_pool(self, cat, city):
        """The local merchants of a city (made on first use, seeded by city)."""
        key = (cat, city[0])
        if key not in self.local:
            rng = random.Random("%s:local:%s:%s" % (self.seed, cat, city[0]))
            seen, pool = set(), []
            for _ in range(LOCAL_POOL.get(cat, 0) * 3):
                if len(pool) >= LOCAL_POOL.get(cat, 0):
                    break
                ch = self.make_local(rng, cat, city, "local")
                if ch.name in seen:
                    continue
                seen.add(ch.name)
                pool.append(ch)
            self.local[key] = pool
        return self.local[key]

    def nationals(self, cat, region):
        """National chains of cat that operate in region, most popular first
        (with the stores of other categories where people also shop for cat)."""
        chains = list(self.national.get(cat, []))
        for name, rank in M.ALSO_SHOPPED.get(cat, []):
            chains.insert(rank - 1, self.by_name[name])
        return [ch for ch in chains if ch.region is None or region in ch.region]

    def draw(self, rng, cat, city):
        """A merchant of cat drawn afresh for an expense in city."""
        tiers = TIERS.get(cat, (1.0, 0.0, 0.0, 0.0))
        tier = weighted(rng, list(zip(("national", "regional", "local", "oneoff"), tiers)))
        if tier == "regional" and self.regional.get((cat, city[2])):
            return zipf_pick(rng, self.regional[(cat, city[2])], 0.9)
        if tier == "local" and self.local_pool(cat, city):
            return zipf_pick(rng, self.local_pool(cat, city), 0.9)
        if tier == "oneoff" and cat in M.LOCAL_TEMPLATES:
            return self.make_local(rng, cat, city, "oneoff")
        chains = self.nationals(cat, city[2]) or self.national[cat]
        return zipf_pick(rng, chains, self.zipf_s, [ch.pop for ch in chains])


class User:
    """One account holder: where they live, how their bank prints, how they file."""

    def __init__(self, uid, rng, args):
        self.uid = uid
        self.city = weighted(rng, [(c, c[3]) for c in M.CITIES])
        self.bank = weighted(rng, BANK_STYLES)
        self.last4 = "%04d" % rng.randrange(10000)
        self.memo_rate = weighted(rng, [(0.0, 0.55), (0.15, 0.30), (0.5, 0.15)])
        self.merges = {}
        for src, dst, p in MERGES:
            if rng.random() < p * args.disagreement:
                self.merges[src] = dst
        self.refund_to_original = rng.random() < 0.25 * args.disagreement
        has_car = rng.random() < 0.78
        has_pet = rng.random() < 0.35
        self.weights = {}
        for cat, w in BASE_WEIGHTS.items():
            w *= math.exp(rng.gauss(0.0, 0.6))
            if cat == "Fuel" and not has_car:
                w = 0.0
            if cat in ("Transport", "Rideshare") and not has_car:
                w *= 2.0
            if cat == "Pets" and not has_pet:
                w = 0.0
            self.weights[cat] = w
        self.activity = math.exp(rng.gauss(0.0, 0.7))
        self.favourites = {}        # category -> [Chain]
        self.policy = {}            # merchant key -> category or "split"
        self.stores = {}            # merchant key -> {length: digits}
        self.form = {}              # merchant key -> preferred form index
        self.employer = None
        self.trip = None            # (first day, last day, city)


class Generator:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.uni = Universe(args.seed, args.zipf)
        self.start = datetime.date.fromisoformat(args.start)
        self.rows = []
        self.seen_keys = set()

    # ---- labels -----------------------------------------------------------

    def policy(self, user, m):
        """How user files merchant m: a category or "split" (drawn once)."""
        pol = user.policy.get(m.key)
        if pol is None:
            alts = [(k, v * self.args.disagreement) for k, v in m.owners.items()
                    if k != m.category and (k != "split" or m.split)]
            rest = max(0.0, 1.0 - sum(v for _, v in alts))
            pol = weighted(self.rng, [(m.category, rest)] + alts) if alts else m.category
            user.policy[m.key] = pol
        return pol

    def label(self, user, m, basket_cat):
        """The category user gives an expense at m whose goods are basket_cat."""
        pol = self.policy(user, m)
        cat = basket_cat if pol == "split" else pol
        why = "policy" if cat != m.category else ""
        if cat in user.merges:
            cat, why = user.merges[cat], "merge"
        if self.rng.random() < self.args.inconsistency:
            alts = [k for k in m.owners if k not in ("split", cat)] or NEIGHBOURS.get(cat, [])
            if alts:
                cat, why = self.rng.choice(alts), "slip"
        return cat, pol, why

    # ---- statement text ---------------------------------------------------

    def store(self, user, m, n):
        """The user's store number of m (n digits), another store now and then."""
        stores = user.stores.setdefault(m.key, {})
        if n not in stores:
            stores[n] = "".join(str(self.rng.randrange(10)) for _ in range(n))
            if n > 1 and stores[n][0] == "0" and self.rng.random() < 0.5:
                stores[n] = "1" + stores[n][1:]
        if self.rng.random() < 0.12:
            return "".join(str(self.rng.randrange(10)) for _ in range(n))
        return stores[n]

    def ref(self):
        """A reference code as processors print them (digits and letters)."""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        n = self.rng.choice([9, 9, 10, 12])
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def digits(self, n):
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def restaurant(self, user, city):
        """A restaurant name as a delivery app prints it."""
        if self.rng.random() < 0.5:
            name = self.rng.choice(self.uni.national["Dining"][:30]).name
        else:
            pool = self.uni.local_pool("Dining", city)
            name = self.rng.choice(pool).name if pool else "RESTAURANT"
        return name.upper().replace("'", "")

    def expand(self, user, m, form, day, city):
        """Fill the placeholders of a descriptor form."""
        out = []
        i = 0
        while i < len(form):
            if form[i] != "{":
                out.append(form[i])
                i += 1
                continue
            j = form.index("}", i)
            ph = form[i + 1:j]
            i = j + 1
            if ph[0] == "s" and ph[1:].isdigit():
                out.append(self.store(user, m, int(ph[1:])))
            elif ph[0] == "r" and ph[1:].isdigit():
                out.append(self.digits(int(ph[1:])))
            elif ph == "ref":
                out.append(self.ref())
            elif ph == "abbr":
                out.append(city_abbr(city[0]))
            elif ph == "st":
                out.append(city[1])
            elif ph == "dow":
                out.append(DOW[day.weekday()])
            elif ph == "hr":
                out.append("%d%s" % (self.rng.randint(1, 12), self.rng.choice(["AM", "PM"])))
            elif ph == "rest":
                out.append(self.restaurant(user, city))
            elif ph == "shop":
                out.append((self.rng.choice(M.ADJECTIVES) + self.rng.choice(M.NOUNS) + "Studio").upper())
            elif ph == "event":
                out.append("%s %s" % (self.rng.choice(M.PLACES).upper(), self.rng.choice(EVENT_WORDS)))
            elif ph == "person":
                out.append(("%s %s" % (self.rng.choice(M.FIRST_NAMES), self.rng.choice(M.SURNAMES))).upper())
            elif ph == "app":
                out.append(self.rng.choice(APPS))
            elif ph == "employer":
                out.append((user.employer or "EMPLOYER").upper())
            else:
                raise ValueError("unknown placeholder {%s} in %r" % (ph, form))
        return "".join(out)

    def descriptor(self, user, m, day, city):
        """The merchant text of an expense as the user's bank shows it."""
        if user.bank == "clean":
            return m.clean
        idx = user.form.get(m.key)
        if idx is None or self.rng.random() < 0.15:
            idx = self.rng.randrange(len(m.forms))
            user.form.setdefault(m.key, idx)
        name = m.proc + self.expand(user, m, m.forms[idx], day, city)
        name = name[:STATEMENT_WIDTH].rstrip()
        loc = m.loc if m.loc is not None else "%s %s" % (city[0][:13], city[1])
        body = ("%s %s" % (name, loc)).strip() if loc else name
        mmdd = day.strftime("%m%d")
        if user.bank == "raw":
            return body
        if user.bank == "posdebit":
            return "%s %s" % (self.rng.choice(["POS DEBIT", "POS DEBIT", "POS PURCHASE"]), body)
        if user.bank == "checkcard":
            return "CHECKCARD %s %s %s" % (mmdd, body, self.digits(23))
        if user.bank == "authorized":
            return "PURCHASE AUTHORIZED ON %s %s S%s CARD %s" % (day.strftime("%m/%d"), body,
                                                                self.digits(15), user.last4)
        return "%s XXXX%s" % (body, user.last4)

    def memo(self, user, basket_cat, day, city, recurring=False):
        """The description field: a user's memo, bank boilerplate or nothing."""
        if user.memo_rate and self.rng.random() < user.memo_rate:
            if self.rng.random() < 0.25:
                text = self.rng.choice(M.GENERIC_MEMOS)
            else:
                text = self.rng.choice(M.MEMOS.get(basket_cat) or M.GENERIC_MEMOS)
            return (text.replace("{first}", self.rng.choice(M.FIRST_NAMES))
                    .replace("{city}", self.rng.choice(M.CITIES)[0].title()))
        text = self.rng.choice(M.BANK_DESCRIPTIONS[user.bank])
        if recurring and text:
            text = "RECURRING CARD PURCHASE"
        return text.replace("{mm}", day.strftime("%m")).replace("{dd}", day.strftime("%d"))

    # ---- expenses ---------------------------------------------------------

    def emit(self, user, day, merchant, description, amount, category, meta, minute=None):
        """Add one row (meta: how it was made, for --meta)."""
        meta["bank"] = user.bank
        if minute is None:
            minute = self.rng.randrange(6 * 60, 24 * 60)
        self.rows.append((day, minute, self.rng.random(), user.uid, merchant, description,
                          "%.2f" % amount, category, meta))

    def purchase(self, user, m, day, city, refund_ok=True):
        """One expense of user at merchant m."""
        if m.split and self.rng.random() < m.split[4]:
            basket_cat, amount = m.split[1], lognormal(self.rng, m.split[3])
        elif m.split:
            basket_cat, amount = m.split[0], lognormal(self.rng, m.split[2])
        else:
            basket_cat = m.category
            if m.prices:
                amount = self.rng.choice(m.prices)
            else:
                amount = lognormal(self.rng, m.amount or M.AMOUNTS[m.category])
        cat, pol, why = self.label(user, m, basket_cat)
        text = self.descriptor(user, m, day, city)
        first = m.key not in self.seen_keys
        self.seen_keys.add(m.key)
        meta = dict(tier=m.tier, key=m.key, chain_category=m.category, basket=basket_cat,
                    policy=pol, why=why, first_global=first)
        self.emit(user, day, text, self.memo(user, basket_cat, day, city), amount, cat, meta)
        refundable = m.refundable or (m.tier == "national" and m.category in
                                      ("Shopping", "Electronics", "Home & Garden"))
        if refund_ok and refundable and self.rng.random() < self.args.refunds:
            later = day + datetime.timedelta(days=self.rng.randint(3, 25))
            if later < self.end:
                part = amount if self.rng.random() < 0.7 else round(amount * self.rng.uniform(0.2, 0.8), 2)
                rcat = cat if user.refund_to_original else "Income & Refunds"
                rtext = self.descriptor(user, m, later, city)
                rmemo = self.rng.choice(["", "", "RETURN", "REFUND", "CREDIT"]) if user.memo_rate == 0 \
                    else self.rng.choice(["return", "refund", ""])
                meta = dict(tier=m.tier, key=m.key, chain_category=m.category, basket="refund",
                            policy="refund", why="" if rcat == "Income & Refunds" else "refund-original",
                            first_global=False)
                self.emit(user, later, rtext, rmemo, -part, rcat, meta)

    def bank_line(self, user, m, day, category, amount, text=None):
        """A line the bank itself writes (fees, deposits): no location, no card noise."""
        if text is None:
            form = m.forms[self.rng.randrange(len(m.forms))]
            text = self.expand(user, m, form, day, user.city)
            if m.loc:
                text = "%s %s" % (text, m.loc)
        if user.bank == "clean":
            text = text.title()
        cat, pol, why = self.label(user, m, category)
        first = m.key not in self.seen_keys
        self.seen_keys.add(m.key)
        meta = dict(tier=m.tier, key=m.key, chain_category=m.category, basket=category,
                    policy=pol, why=why, first_global=first)
        if user.memo_rate and self.rng.random() < user.memo_rate:
            memo = self.memo(user, category, day, user.city)
        elif category == "Income & Refunds":
            memo = self.rng.choice(["", "", "ACH CREDIT", "DEPOSIT"])
        else:
            memo = ""
        self.emit(user, day, text, memo, amount, cat, meta, minute=self.rng.randrange(0, 6 * 60))

    def favourite(self, user, cat, city):
        """The merchant of an expense of cat: a favourite or a fresh draw."""
        if city is not user.city:
            return self.uni.draw(self.rng, cat, city)
        favs = user.favourites.get(cat)
        if favs is None:
            favs = []
            k = 1
            while k < 4 and self.rng.random() < 0.5:
                k += 1
            for _ in range(k * 3):
                if len(favs) >= k:
                    break
                m = self.uni.draw(self.rng, cat, city)
                if m.tier != "oneoff" and all(f.key != m.key for f in favs):
                    favs.append(m)
            user.favourites[cat] = favs
        if favs and self.rng.random() < self.args.loyalty:
            return zipf_pick(self.rng, favs, 1.0)
        return self.uni.draw(self.rng, cat, city)

    def recurring(self, user):
        """Monthly bills on a fixed day: subscriptions, utilities, phone, internet, gym."""
        rng, uni = self.rng, self.uni
        bills = []
        subs = [ch for ch in uni.national["Subscriptions"] if ch.name not in GYMS]
        scale = self.args.bills
        for _ in range(poisson(rng, 1.6 * scale)):
            ch = zipf_pick(rng, subs, 0.8, [c.pop for c in subs])
            if all(b[0].key != ch.key for b in bills):
                bills.append((ch, rng.choice(ch.prices) if ch.prices else None))
        if rng.random() < 0.45 * scale:
            bills.append((uni.draw(rng, "Utilities", user.city), None))
            if rng.random() < 0.3:
                bills.append((uni.draw(rng, "Utilities", user.city), None))
        if rng.random() < 0.55 * scale:
            carriers = [uni.by_name[n] for n in PHONE_CARRIERS]
            ch = zipf_pick(rng, carriers, 1.0, [c.pop for c in carriers])
            bills.append((ch, lognormal(rng, (75, 0.4, 15, 260))))
        if rng.random() < 0.40 * scale:
            isps = [ch for ch in (uni.by_name[n] for n in ISPS) if ch.region is None or user.city[2] in ch.region]
            ch = zipf_pick(rng, isps, 1.0, [c.pop for c in isps])
            bills.append((ch, lognormal(rng, (85, 0.3, 30, 200))))
        if rng.random() < 0.15 * scale:
            ch = uni.by_name[rng.choice(GYMS)]
            bills.append((ch, rng.choice(ch.prices) if ch.prices else lognormal(rng, ch.amount)))
        if rng.random() < 0.08 * scale:
            ch = uni.by_name["Monthly service fee"]
            bills.append((ch, rng.choice(ch.prices)))
        for ch, price in bills:
            dom = rng.randint(1, 28)
            day = self.start.replace(day=dom)
            while day < self.end:
                if day >= self.start:
                    if ch.category == "Utilities" or ch.name in ISPS:
                        base = price or lognormal(rng, ch.amount or M.AMOUNTS["Utilities"])
                        amount = round(base * rng.uniform(0.8, 1.25), 2) if ch.category == "Utilities" else base
                    else:
                        amount = price if price is not None else lognormal(rng, ch.amount or M.AMOUNTS[ch.category])
                    if ch.category == "Fees":
                        self.bank_line(user, ch, day, "Fees", amount)
                    else:
                        self.fixed(user, ch, day, amount)
                day = add_month(day)

    def fixed(self, user, m, day, amount):
        """A recurring charge of a known amount."""
        cat, pol, why = self.label(user, m, m.category)
        first = m.key not in self.seen_keys
        self.seen_keys.add(m.key)
        meta = dict(tier=m.tier, key=m.key, chain_category=m.category, basket=m.category,
                    policy=pol, why=why, first_global=first)
        self.emit(user, day, self.descriptor(user, m, day, user.city),
                  self.memo(user, m.category, day, user.city, recurring=True), amount, cat, meta)

    def payroll(self, user):
        """Biweekly salary deposits of the users paid into this account."""
        rng = self.rng
        user.employer = fill_template(rng, rng.choice(M.EMPLOYER_TEMPLATES), user.city[0])
        m = M.Chain(user.employer, forms=[rng.choice(M.INCOME_FORMS)], loc="")
        m.category, m.tier, m.key = "Income & Refunds", "payroll", "p:%d" % user.uid
        base = lognormal(rng, M.AMOUNTS["Income & Refunds"])
        day = self.start + datetime.timedelta(days=(4 - self.start.weekday()) % 7 + 7 * rng.randrange(2))
        while day < self.end:
            self.bank_line(user, m, day, "Income & Refunds", round(base * rng.uniform(0.97, 1.03), 2))
            day += datetime.timedelta(days=14)

    def credit(self, user, day):
        """A deposit that is not salary (Venmo cash-out, Zelle, interest...)."""
        form, dist = self.rng.choice(M.OTHER_CREDITS)
        m = M.Chain(form.split(" {")[0].title(), forms=[form], loc="")
        m.category, m.tier, m.key = "Income & Refunds", "national", "c:" + form
        self.bank_line(user, m, day, "Income & Refunds", lognormal(self.rng, dist))

    def trip(self, user):
        """A trip: a flight booked ahead, a hotel or rental at check-out."""
        rng = self.rng
        days = self.args.days
        first = rng.randrange(days)
        length = rng.randint(2, 6)
        dest = user.city
        while dest is user.city:
            dest = weighted(rng, [(c, c[3]) for c in M.CITIES])
        user.trip = (first, min(days - 1, first + length - 1), dest)
        book = first - rng.randint(3, 30)
        if book >= 0:
            m = self.uni.draw(rng, "Travel", user.city)
            self.purchase(user, m, self.start + datetime.timedelta(days=book), user.city)
        checkout = first + length - 1
        if checkout < days:
            m = self.uni.draw(rng, "Lodging", dest)
            self.purchase(user, m, self.start + datetime.timedelta(days=checkout), dest)
        if rng.random() < 0.3 and first < days:
            m = rng.choice([self.uni.by_name[n] for n in ("Hertz", "Enterprise", "Avis", "Budget")])
            self.purchase(user, m, self.start + datetime.timedelta(days=first), dest)

    def run(self):
        args, rng = self.args, self.rng
        self.end = self.start + datetime.timedelta(days=args.days)
        users = [User(uid, rng, args) for uid in range(1, args.users + 1)]
        for user in users:
            self.recurring(user)
            if rng.random() < args.payroll:
                self.payroll(user)
            if rng.random() < args.trips:
                self.trip(user)
        fixed = len(self.rows)
        budget = max(0, args.expenses - fixed) / (1.0 + 0.6 * args.refunds)
        total_activity = sum(u.activity for u in users)
        for user in users:
            n = poisson(rng, budget * user.activity / total_activity)
            for _ in range(n):
                d = rng.randrange(args.days)
                day = self.start + datetime.timedelta(days=d)
                on_trip = user.trip and user.trip[0] <= d <= user.trip[1]
                city = user.trip[2] if on_trip else user.city
                weights = TRIP_WEIGHTS if on_trip else user.weights
                cat = weighted(rng, list(weights.items()))
                if cat == "Income & Refunds":
                    self.credit(user, day)
                    continue
                m = self.favourite(user, cat, city)
                if m.category == "Fees":
                    amount = rng.choice(m.prices) if m.prices else lognormal(rng, m.amount)
                    self.bank_line(user, m, day, "Fees", amount)
                else:
                    self.purchase(user, m, day, city)
        self.rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return users


def add_month(day):
    """The same day of the next month (days 1..28 only)."""
    return day.replace(year=day.year + day.month // 12, month=day.month % 12 + 1)


def write(gen, out, meta_path):
    """Write the CSV (and the per-row metadata when asked)."""
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["user_id", "merchant", "description", "amount", "date", "category"])
    for r in gen.rows:
        w.writerow([r[3], r[4], r[5], r[6], r[0].isoformat(), r[7]])
    if meta_path:
        with open(meta_path, "w", newline="", encoding="utf-8") as f:
            mw = csv.writer(f, lineterminator="\r\n")
            mw.writerow(["seq", "user_id", "tier", "merchant_key", "chain_category", "basket",
                         "policy", "why", "first_global", "bank"])
            for seq, r in enumerate(gen.rows, 1):
                m = r[8]
                mw.writerow([seq, r[3], m["tier"], m["key"], m["chain_category"], m["basket"],
                             m["policy"], m["why"], int(m["first_global"]), m["bank"]])


def summary(gen, users):
    """What the set holds, for stderr and the README."""
    rows = gen.rows
    n = len(rows)
    lines = ["rows %d, users %d, days %d" % (n, len(users), gen.args.days)]
    tiers = {}
    for r in rows:
        tiers[r[8]["tier"]] = tiers.get(r[8]["tier"], 0) + 1
    lines.append("tiers: " + ", ".join("%s %.3f" % (k, v / n) for k, v in sorted(tiers.items())))
    why = {}
    for r in rows:
        k = r[8]["why"] or "default"
        why[k] = why.get(k, 0) + 1
    lines.append("label vs merchant's category: " + ", ".join("%s %.3f" % (k, v / n) for k, v in sorted(why.items())))
    lines.append("first time a merchant appears (any user): %.3f" % (sum(r[8]["first_global"] for r in rows) / n))
    seen, firsts = set(), 0
    for r in rows:
        k = (r[3], r[8]["key"])
        firsts += k not in seen
        seen.add(k)
    lines.append("first time for its user: %.3f" % (firsts / n))
    lines.append("amount-decided (split policy): %.3f" % (sum(r[8]["policy"] == "split" for r in rows) / n))
    lines.append("non-empty description: %.3f" % (sum(bool(r[5]) for r in rows) / n))
    cats = {}
    for r in rows:
        cats[r[7]] = cats.get(r[7], 0) + 1
    lines.append("categories: " + ", ".join("%s %d" % (k, v) for k, v in sorted(cats.items(), key=lambda x: -x[1])))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="-", help="CSV file to write (default stdout)")
    p.add_argument("--meta", help="also write per-row generation metadata (tier, merchant, why) here")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--expenses", type=int, default=25000, help="target number of rows (approximate)")
    p.add_argument("--start", default="2024-03-01", help="first date (ISO)")
    p.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of national chain popularity")
    p.add_argument("--loyalty", type=float, default=0.7, help="share of expenses at a personal favourite")
    p.add_argument("--disagreement", type=float, default=1.0,
                   help="scale of owners who file differently (0 = everyone files the same)")
    p.add_argument("--inconsistency", type=float, default=0.02,
                   help="probability that a user files one expense unlike their habit")
    p.add_argument("--refunds", type=float, default=0.04, help="probability a retail purchase is refunded")
    p.add_argument("--bills", type=float, default=0.3,
                   help="scale of monthly bills paid with this card (1 = every bill a household has)")
    p.add_argument("--payroll", type=float, default=0.12, help="share of users whose salary lands here")
    p.add_argument("--trips", type=float, default=0.15, help="share of users who travel in the window")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    args = p.parse_args()
    gen = Generator(args)
    users = gen.run()
    if args.out == "-":
        write(gen, sys.stdout, args.meta)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            write(gen, f, args.meta)
    if not args.quiet:
        print(summary(gen, users), file=sys.stderr)


if __name__ == "__main__":
    main()
