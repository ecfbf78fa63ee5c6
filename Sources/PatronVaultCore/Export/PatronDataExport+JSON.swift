/// `patron-data.json` as the schema (`patron-data.schema.json`) describes it, keys in
/// alphabetical order at every level.
extension PatronDataExport {
    /// How deep the record set's members array sits: in the record set, in the document.
    private static let membersDepth = 2
    /// How deep the history array sits: in the document.
    private static let historyDepth = 1

    /// The history's loans, most of the document for a long history, written apart so it and the
    /// record set's members can be written on different cores (`jsonBytes(history:members:)`).
    var historyLoans: JSONText.RenderedMembers {
        JSONText.arrayMembers(history, depth: Self.historyDepth, capacity: 420 * history.count) { $0.loan($1) }
    }

    /// The record set's members, a third of the document for a long history.
    var recordSetMembers: JSONText.RenderedMembers {
        JSONText.arrayMembers(recordSet.members, depth: Self.membersDepth, capacity: 220 * recordSet.members.count) { json, member in
            json.object { json in
                json.field("element", member.element)
                json.field("id", member.id)
                json.field("inSet", member.inSet)
                json.field("kind", member.kind)
                json.field("state", member.state)
                json.field("version", member.version)
            }
        }
    }

    /// The document, with the history and the record set's members as rendered apart.
    func jsonBytes(history loans: JSONText.RenderedMembers, members: JSONText.RenderedMembers) -> [UInt8] {
        var json = JSONText(capacity: 1_024 + loans.bytes.count + members.bytes.count + 600 * openLoans.count + 400 * auditEntries.count)
        json.object { json in
            json.key("auditEntries")
            json.array(auditEntries) { json, entry in
                json.object { json in
                    json.field("action", entry.action)
                    json.field("decision", entry.decision)
                    json.field("detail", entry.detail)
                    json.field("frontEnd", entry.frontEnd)
                    json.field("policyDigest", entry.policyDigest)
                    json.field("principalID", entry.principalID)
                    json.field("principalKind", entry.principalKind)
                    json.field("principalRole", entry.principalRole)
                    json.field("purpose", entry.purpose)
                    json.field("resource", entry.resource)
                    json.field("rules", strings: entry.rules)
                    json.field("sequence", entry.sequence)
                    json.field("staffName", entry.staffName)
                    json.field("time", instant: entry.time)
                }
            }
            json.field("exportedAt", instant: exportedAt)
            json.field("format", format)
            if !heldLoans.isEmpty {
                json.key("heldLoans")
                json.array(heldLoans) { $0.loan($1) }
            }
            json.key("history")
            json.array(rendered: loans)
            json.field("legalOrders", strings: legalOrders)
            json.key("openLoans")
            json.array(openLoans) { $0.loan($1) }
            json.key("pendingDestruction")
            json.array(pendingDestruction) { $0.reference($1) }
            json.field("pseudonym", pseudonym)
            json.key("recordSet")
            json.object { json in
                json.field("count", recordSet.count)
                json.key("members")
                json.array(rendered: members)
                json.field("value", recordSet.value)
            }
            json.key("registration")
            json.object { json in
                let r = registration.data
                json.key("data")
                json.object { json in
                    json.field("address", r.postalAddress)
                    json.field("birthDate", day: r.birthDate)
                    json.field("branch", r.homeBranch)
                    json.field("card", r.cardBarcode)
                    json.field("category", r.category)
                    json.field("email", r.email)
                    json.field("expires", day: r.cardExpiry)
                    json.field("hasPIN", r.hasPIN)
                    json.field("history", r.history.rawValue)
                    json.field("name", r.fullName)
                    json.field("notify", r.notifyBy?.rawValue)
                    json.field("phone", r.phone)
                    json.field("registered", day: r.registeredOn)
                }
                json.key("record")
                json.reference(registration.record)
            }
            if let lockout = signInLockout {
                json.key("signInLockout")
                json.object { json in
                    json.field("failedAttempts", lockout.failedAttempts)
                    json.field("lockedUntil", instant: lockout.lockedUntil)
                }
            }
        }
        return json.bytes + [0x0A]
    }
}

extension JSONText {
    fileprivate mutating func loan(_ loan: ExportedRecord<Loan>) {
        object { json in
            let l = loan.data
            json.key("data")
            json.object { json in
                json.field("author", l.author)
                json.field("branch", l.branch)
                json.field("checkedOut", instant: l.checkedOutAt)
                json.field("due", day: l.dueOn)
                if let fee = l.fee {
                    json.key("fee")
                    json.object { json in
                        json.field("amount", LoanFee.text(fee.amount))
                        json.field("settled", instant: fee.settledAt)
                    }
                }
                json.field("item", l.itemBarcode)
                json.field("returned", instant: l.returnedAt)
                json.field("title", l.title)
            }
            json.key("record")
            json.reference(loan.record)
        }
    }

    fileprivate mutating func reference(_ reference: RecordReference) {
        object { json in
            json.field("id", reference.id)
            json.field("version", reference.version)
        }
    }
}
