import PatronVaultPolicy

extension CalendarDay {
    /// The day `period` before this one: months and years step the calendar, and a day that
    /// does not exist in the target month (31 March minus one month) becomes its last day.
    func subtracting(_ period: RetentionPeriod) -> CalendarDay {
        switch period.unit {
        case .days: return adding(days: -period.count)
        case .months: return subtracting(months: period.count)
        case .years: return subtracting(months: 12 * period.count)
        }
    }

    /// The first day whose cutoff for `period` reaches this day: when a retention run first
    /// removes a record counted from this day.
    func firstDayDue(after period: RetentionPeriod) -> CalendarDay {
        let atLeast = switch period.unit {
        case .days: period.count
        case .months: 28 * period.count
        case .years: 365 * period.count
        }
        var day = adding(days: atLeast)
        while day.subtracting(period) < self { day = day.adding(days: 1) }
        return day
    }

    private func subtracting(months: Int) -> CalendarDay {
        let (year, month, day) = civil
        let index = year * 12 + (month - 1) - months
        let (targetYear, targetMonth) = (index >= 0 ? index / 12 : (index - 11) / 12, ((index % 12) + 12) % 12 + 1)
        let first = CalendarDay(civilYear: targetYear, month: targetMonth, day: 1)
        let nextFirst = CalendarDay(civilYear: targetMonth == 12 ? targetYear + 1 : targetYear, month: targetMonth == 12 ? 1 : targetMonth + 1, day: 1)
        let length = Int(nextFirst.daysSinceEpoch - first.daysSinceEpoch)
        return first.adding(days: min(day, length) - 1)
    }
}
