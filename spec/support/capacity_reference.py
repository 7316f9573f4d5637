#!/usr/bin/env python3
"""Independent expected figures for han.capacity's scenario specs (issue 23).

Writes spec/vectors/capacity/scenarios.json: each scenario's simulated load (quarter-hour
powers), how its readings are sent and spoiled (spec/support/capacity_scenarios.lua
turns that into readings), and the monthly figures the operator would bill, computed
here from the load itself with the system's tzdata (zoneinfo) and this file's own
reading of each published rule. Standard library only. Run from the repository root:

    python3 spec/support/capacity_reference.py

The output is deterministic (seeded); the specs read the committed JSON.
"""
import datetime as dt
import json
import random
import sys
from zoneinfo import ZoneInfo

OUT = "spec/vectors/capacity/scenarios.json"
Q = 900  # seconds in a quarter hour


def epoch(zone, y, m, d, h=0, mi=0, fold=0):
    return int(dt.datetime(y, m, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold).timestamp())


def local(zone, t):
    return dt.datetime.fromtimestamp(t, ZoneInfo(zone))


# --- Swedish public holidays, computed another way than han does (Butcher's algorithm
# as in the Meeus formulation, written from its textbook form).
def easter(y):
    a = y % 19
    b, c = divmod(y, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(y, month, day + 1)


assert [easter(y) for y in (2024, 2025, 2026)] == [
    dt.date(2024, 3, 31), dt.date(2025, 4, 20), dt.date(2026, 4, 5)]


def swedish_day(day):
    """'holiday', 'eve' or None for a date."""
    y = day.year
    fixed = {(1, 1): "holiday", (1, 6): "holiday", (5, 1): "holiday", (6, 6): "holiday",
             (12, 24): "eve", (12, 25): "holiday", (12, 26): "holiday", (12, 31): "eve"}
    if (day.month, day.day) in fixed:
        return fixed[(day.month, day.day)]
    e = easter(y)
    if (day - e).days in (-2, 0, 1, 39, 49):
        return "holiday"
    # midsummer day: the Saturday 20-26 June, its eve the day before; All Saints' Day:
    # the Saturday 31 October - 6 November
    if day.month == 6 and 20 <= day.day <= 26 and day.weekday() == 5:
        return "holiday"
    if day.month == 6 and 19 <= day.day <= 25 and day.weekday() == 4:
        return "eve"
    if day.weekday() == 5 and (day.month, day.day) in [(10, 31)] + [(11, n) for n in range(1, 7)]:
        return "holiday"
    return None


# --- The operators' rules as published (../shared/docs/capacity-rules.md), written here
# independently of han's tables: a charge is a function of a local start time giving its
# weight or None, with the number of peaks and the distinct-days condition.
WINTER = {11, 12, 1, 2, 3}


def window(hours=None, weekdays=False, holidays=False, eves=False, months=None, night=None):
    def weight(t):
        if months and t.month not in months:
            return None
        if hours and not (hours[0] <= t.hour < hours[1]):
            return None
        if weekdays and t.weekday() >= 5:
            return None
        kind = swedish_day(t.date())
        if (holidays and kind == "holiday") or (eves and kind == "eve"):
            return None
        if night and (t.hour >= night[0] or t.hour < night[1]):
            return night[2]
        return 1.0
    return weight


RULES = {
    "norway": ("Europe/Oslo", 3600, [(3, True, window(), None)]),
    "goteborg": ("Europe/Stockholm", 3600, [(3, True, window(), None)]),
    "ellevio": ("Europe/Stockholm", 3600, [(3, True, window(night=(22, 6, 0.5)), None)]),
    "sollentuna": ("Europe/Stockholm", 3600, [
        (3, False, window((7, 19), True, True, True), None)]),
    "malarenergi": ("Europe/Stockholm", 3600, [(1, False, window((7, 19), True, True), None)]),
    "telge": ("Europe/Stockholm", 3600, [
        (1, False, window((7, 20), True, True, months=WINTER), None)]),
    "partille": ("Europe/Stockholm", 3600, [(1, False, window(), None)]),
    "linde": ("Europe/Stockholm", 3600, [
        (1, False, window(), None),
        (1, False, window((7, 19), True, months=WINTER), "high")]),
    "karlskoga": ("Europe/Stockholm", 3600, [
        (1, False, window(), None),
        (1, False, window((6, 20), True, months=WINTER), "high")]),
    "veab": ("Europe/Stockholm", 3600, [(3, False, window((7, 20), True), None)]),
    "falu": ("Europe/Stockholm", 3600, [
        (1, False, window((7, 19), True, True, months=WINTER), None)]),
    "skovde": ("Europe/Stockholm", 3600, [
        (1, False, window((6, 22), True, months=WINTER), None)]),
    "malung": ("Europe/Stockholm", 3600, [(5, True, window(), None)]),
    "belgium": ("Europe/Brussels", 900, [(1, False, window(), None)]),
}
FLOOR = 2.5  # Flanders: kW each monthly peak counts at least


def periods(quarters, start, period):
    """(start, kWh) of each whole period from quarter powers in W."""
    per = period // Q
    out = []
    for i in range(0, len(quarters) - per + 1, per):
        out.append((start + i * Q, sum(quarters[i:i + per]) * Q / 3600 / 1000))
    return out


def figures(rule, energies, overrides=None):
    """Month -> {charge: {"peaks": [...], "mean": x}} of (start, kWh) periods."""
    zone, period, charges = RULES[rule]
    overrides = overrides or {}
    months = {}
    for start, kwh in energies:
        kwh = overrides.get(start, kwh)
        t = local(zone, start)
        month = "%04d-%02d" % (t.year, t.month)
        for count, distinct, weight, name in charges:
            w = weight(t)
            if w is None:
                continue
            slot = months.setdefault(month, {}).setdefault(name or "main", [])
            slot.append((t.date(), kwh * 3600 / period * w, start))
    out = {}
    for month, charges_of in months.items():
        out[month] = {}
        for count, distinct, _, name in charges:
            values = charges_of.get(name or "main", [])
            if distinct:
                best = {}
                for day, v, start in values:
                    if day not in best or v > best[day][0]:
                        best[day] = (v, start)
                values = list(best.values())
            else:
                values = [(v, start) for _, v, start in values]
            top = sorted(values, reverse=True)[:count]
            peaks = [v for v, _ in top]
            mean = sum(peaks) / len(peaks) if peaks else None
            if rule == "belgium" and mean is not None:
                mean = max(mean, FLOOR)
            out[month][name or "main"] = {"peaks": peaks, "mean": mean,
                                          "starts": [start for _, start in top]}
    return out


# --- Loads: quarter powers in W, piecewise constant over random runs of quarters, with
# chosen spikes.
def load(rng, n, low=300, high=3000):
    out = []
    while len(out) < n:
        out += [rng.randrange(low, high)] * rng.randrange(1, 9)
    return out[:n]


def spike(quarters, start, at, kw_list):
    """Set the quarters from epoch `at` on to the given kW values (one per quarter)."""
    i = (at - start) // Q
    for j, kw in enumerate(kw_list):
        quarters[i + j] = int(kw * 1000)


SCENARIOS = []


NONE = {"main": {"peaks": [], "mean": None, "starts": []}}


def scenario(name, rule, start, stop, quarters, send, expect_month, estimated=()):
    """A scenario; `estimated`: the periods han must flag as estimated (a boundary
    guessed between two register reads far apart)."""
    _, period, _ = RULES[rule]
    energies = periods(quarters, start, period)
    months = figures(rule, energies)
    s = {"name": name, "rule": rule, "start": start, "stop": stop,
         "quarters": runs(quarters), "send": send, "month": expect_month}
    expect(s, months, estimated)
    SCENARIOS.append(s)
    return s, energies, months


def expect(s, months, estimated):
    s["expect"] = months.get(s["month"], NONE)
    main = s["expect"]["main"]
    s["estimated"] = sum(1 for start in main["starts"] if start in set(estimated))


def runs(quarters):
    out = []
    for q in quarters:
        if out and out[-1][1] == q:
            out[-1][0] += 1
        else:
            out.append([1, q])
    return out


def norway():
    z = "Europe/Oslo"
    start, stop = epoch(z, 2024, 10, 1), epoch(z, 2024, 11, 1, 6)
    n = (stop - start) // Q

    def base(seed):
        rng = random.Random(seed)
        q = load(rng, n)
        spike(q, start, epoch(z, 2024, 10, 8, 17), [7.5] * 4)       # 7.5 kWh
        spike(q, start, epoch(z, 2024, 10, 15, 18), [6, 7, 6, 5])  # 6 kWh
        spike(q, start, epoch(z, 2024, 10, 22, 7), [5.5] * 4)      # 5.5 kWh
        return q

    lists = {"cadence": 60, "lists": True, "power": True}
    scenario("norway clean month", "norway", start, stop, base(1), lists, "2024-10")
    scenario("norway: one reading stamped 2000-01-01 and one from 2030", "norway", start,
             stop, base(2), dict(lists, bad_clock=[epoch(z, 2024, 10, 15, 18, 20),
                                                 epoch(z, 2024, 10, 20, 3, 5)]),
             "2024-10")
    # the repeated hour: 9 kWh in the first 02:00, 4 in the second
    first = epoch(z, 2024, 10, 27, 2, fold=0)
    for flagged in (False, True):
        q = base(3)
        spike(q, start, first, [9] * 4 + [4] * 4)
        scenario("norway: October's repeated hour, summer time %s" %
                 ("flagged" if flagged else "not flagged"), "norway", start, stop, q,
                 dict(lists, flagged=flagged, fold=first), "2024-10")
    # a gap over the peak hour 18:00 on 15 October: power readings missing
    gap = [epoch(z, 2024, 10, 15, 17, 40), epoch(z, 2024, 10, 15, 19, 20)]
    scenario("norway: power readings missing over the peak hour, lists there", "norway",
             start, stop, base(4), dict(lists, drop=gap), "2024-10")
    # ... and the lists at 18:00 and 19:00 too: the hours 17, 18 and 19 share the
    # register step 17:00-20:00 beyond the power seen, by the seconds without readings
    # (the reading at 17:39 holds its power for no longer than two minutes: the power
    # seen ends there)
    q = base(5)
    h17 = epoch(z, 2024, 10, 15, 17)
    s, energies, _ = scenario("norway: readings and lists missing over the peak hour",
                              "norway", start, stop, q,
                              dict(lists, drop=gap, drop_lists=[h17 + 3600, h17 + 7200]),
                              "2024-10")

    def kwh(a, b):   # of [a, b) from the quarters
        return sum(q[(t - start) // Q] for t in range(a, b, 60)) * 60 / 3600 / 1000
    last = gap[0] - 60
    unseen, secs = kwh(last, gap[1]), gap[1] - last
    shares = {h17: kwh(h17, last) + unseen * (h17 + 3600 - last) / secs,
              h17 + 3600: unseen * 3600 / secs,
              h17 + 7200: kwh(gap[1], h17 + 3 * 3600) + unseen * (gap[1] - h17 - 7200) / secs}
    energies = [(t, shares.get(t, e)) for t, e in energies]
    expect(s, figures("norway", energies), shares)
    lost = [epoch(z, 2024, 10, d, h) for d, h in ((3, 4), (15, 19), (22, 8))]
    scenario("norway: lists late, sent twice, some lost", "norway", start, stop, base(6),
             dict(lists, late=50, twice=True, drop_lists=lost), "2024-10",
             [h - 3600 for h in lost] + lost)
    scenario("norway: the meter restarts its register and is swapped", "norway", start,
             stop, base(7), dict(lists, every=True, reset=epoch(z, 2024, 10, 15, 18, 30),
                                 swap=epoch(z, 2024, 10, 22, 7, 40)), "2024-10")


def sweden():
    z = "Europe/Stockholm"
    cases = [  # preset, month, the hours given a spike (local y, m, d, h) and kW
        ("goteborg", (2025, 1), [((2025, 1, 4, 12), 9), ((2025, 1, 4, 18), 8.5),
                                 ((2025, 1, 9, 8), 7), ((2025, 1, 20, 3), 6)]),
        ("ellevio", (2025, 1), [((2025, 1, 7, 23), 10), ((2025, 1, 8, 2), 9),
                                ((2025, 1, 9, 17), 6), ((2025, 1, 10, 12), 5.5),
                                ((2025, 1, 13, 8), 5)]),
        ("sollentuna", (2025, 12), [((2025, 12, 24, 10), 9), ((2025, 12, 31, 12), 9),
                                    ((2025, 12, 26, 10), 8), ((2025, 12, 6, 10), 8),
                                    ((2025, 12, 2, 19), 8), ((2025, 12, 3, 7), 6),
                                    ((2025, 12, 3, 9), 5.5), ((2025, 12, 17, 18), 5)]),
        ("malarenergi", (2025, 4), [((2025, 4, 18, 10), 9), ((2025, 4, 21, 10), 8.5),
                                    ((2025, 4, 22, 6), 8), ((2025, 4, 23, 18), 6)]),
        ("telge", (2025, 3), [((2025, 3, 1, 10), 9), ((2025, 3, 4, 20), 8),
                              ((2025, 3, 5, 19), 6.5)]),
        ("telge", (2025, 4), [((2025, 4, 8, 10), 9)]),
        ("partille", (2025, 6), [((2025, 6, 20, 23), 9.5), ((2025, 6, 3, 3), 7)]),
        ("linde", (2025, 1), [((2025, 1, 11, 10), 9), ((2025, 1, 14, 19), 8),
                              ((2025, 1, 15, 18), 6)]),
        ("karlskoga", (2025, 2), [((2025, 2, 8, 10), 9), ((2025, 2, 11, 20), 8),
                                  ((2025, 2, 12, 6), 6.5)]),
        ("veab", (2025, 5), [((2025, 5, 1, 10), 9), ((2025, 5, 29, 10), 8.5),
                             ((2025, 5, 3, 10), 8), ((2025, 5, 6, 19), 7),
                             ((2025, 5, 7, 7), 6), ((2025, 5, 7, 20), 5.5)]),
        ("falu", (2025, 11), [((2025, 11, 1, 10), 9), ((2025, 11, 3, 19), 8),
                              ((2025, 11, 4, 18), 6)]),
        ("skovde", (2026, 1), [((2026, 1, 1, 10), 9), ((2026, 1, 6, 12), 8.5),
                               ((2026, 1, 7, 22), 8), ((2026, 1, 8, 6), 6)]),
        ("malung", (2025, 1), [((2025, 1, d, 18), 9 - d / 4) for d in range(2, 9)]
         + [((2025, 1, 2, 19), 9)]),
    ]
    for i, (rule, (y, m), spikes) in enumerate(cases):
        start = epoch(z, y, m, 1)
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        stop = epoch(z, ny, nm, 1, 6)
        q = load(random.Random(100 + i), (stop - start) // Q, 300, 2500)
        for (yy, mm, dd, hh), kw in spikes:
            spike(q, start, epoch(z, yy, mm, dd, hh), [kw] * 4)
        scenario("%s %04d-%02d" % (rule, y, m), rule, start, stop, q,
                 {"cadence": 0, "lists": True}, "%04d-%02d" % (y, m))


def belgium():
    z = "Europe/Brussels"
    start, stop = epoch(z, 2024, 1, 1), epoch(z, 2024, 2, 1, 1)
    n = (stop - start) // Q
    for i, cadence in enumerate((5, 10, 60, 150, 300, 900)):
        q = load(random.Random(200 + i), n)
        spike(q, start, epoch(z, 2024, 1, 17, 18, 45), [6.2])
        scenario("flanders: telegrams every %d s" % cadence, "belgium", start, stop, q,
                 {"cadence": cadence, "every": True, "power": cadence < 900}, "2024-01")
    q = load(random.Random(210), n)
    spike(q, start, epoch(z, 2024, 1, 17, 18, 45), [6.2])
    scenario("flanders: telegrams sent again late and twice", "belgium", start, stop, q,
             {"cadence": 60, "every": True, "power": True, "resend": 50}, "2024-01")
    # a year and a month at 900 s: low months count at the 2.5 kW floor; the billing
    # basis is the mean of the last 12 monthly figures
    ystart, ystop = epoch(z, 2023, 1, 1), epoch(z, 2024, 2, 1, 1)
    rng = random.Random(220)
    q = load(rng, (ystop - ystart) // Q, 200, 1200)
    year = []
    for k in range(13):
        y, m = 2023 + k // 12, k % 12 + 1
        kw = [1.8, 5.5, 2.2, 4.0, 3.1, 0.9, 2.49, 6.6, 3.3, 7.1, 2.0, 4.4, 5.2][k]
        spike(q, ystart, epoch(z, y, m, 10, 19), [kw])
        year.append(kw)
    s, _, months = scenario("flanders: thirteen months, the floor and the 12-month mean",
                            "belgium", ystart, ystop, q, {"cadence": 900, "every": True},
                            "2024-01")
    basis = [months["%04d-%02d" % (2023 + k // 12, k % 12 + 1)]["main"]["mean"]
             for k in range(1, 13)]
    s["year_mean"] = sum(basis) / 12
    # the meter's own figures: its month peak and a history of three months
    q = load(random.Random(230), n)
    spike(q, start, epoch(z, 2024, 1, 17, 18, 45), [6.2])
    history = [[epoch(z, 2023, 10, 12, 8, 15), 3.9], [epoch(z, 2023, 11, 3, 18), 1.7],
               [epoch(z, 2023, 12, 24, 12, 30), 5.1]]
    peak_at = epoch(z, 2024, 1, 17, 19)   # the quarter's end
    s, _, months = scenario("flanders: the meter's month peak and its history", "belgium",
                            start, stop, q,
                            {"cadence": 60, "every": True, "power": True,
                             "meter_history": history, "meter_peak": [peak_at, 6.2]},
                            "2024-01")
    s["year_mean"] = (3.9 + 2.5 + 5.1 + months["2024-01"]["main"]["mean"]) / 4


def main():
    norway()
    sweden()
    belgium()
    with open(OUT, "w") as f:
        json.dump(SCENARIOS, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("%d scenarios -> %s" % (len(SCENARIOS), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
