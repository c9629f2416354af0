import SecretsCore
import SecretsModel
import StripeAPI

/// Reads what Stripe holds, for `plan --refresh`, `plan --refresh-values` and `import`: one
/// paginated listing per scope, and a find with `expand[]=payload` per secret whose value is
/// wanted. Every answer is checked against the request (object, id, name, scope, mode) before it
/// is believed; a payload is fingerprinted with the state's key at once and dropped.
public struct StripeReader: Sendable {
    public let client: SecretStoreClient
    public let mode: StripeMode
    /// How many calls may be in flight at once.
    public let parallelism: Int

    /// A listing longer than this many pages is refused: Stripe caps a scope at 10 secrets, one
    /// page, so only a broken or hostile server pages on, each page with its own retries.
    static let maxPages = 10

    public init(client: SecretStoreClient, mode: StripeMode, parallelism: Int) {
        self.client = client
        self.mode = mode
        self.parallelism = max(1, parallelism)
    }

    /// What a read found, and what it cost.
    public struct Result: Sendable {
        public let view: StripeView
        /// How many scopes were listed, how many values were read, and how many requests were
        /// sent in all.
        public let scopes: Int
        public let values: Int
        public let requests: Int
        /// True when values were asked for but the key may not read them: the view then holds
        /// listings only.
        public let payloadsUnreadable: Bool
    }

    /// Lists every scope in `scopes`; with `valuesOf`, also reads the value of each of those
    /// addresses that the listing shows, fingerprinted with `key`.
    public func read(scopes: [ScopeKey], valuesOf wanted: Set<SecretAddress>?, key: FingerprintKey)
        async throws(StripeError) -> Result
    {
        var listed: [SecretAddress: Plan.Observed] = [:]
        var requests = 0
        let listings = try await inParallel(scopes) { scope throws(StripeError) in try await self.list(scope) }
        for (found, pages) in listings {
            requests += pages
            listed.merge(found) { first, _ in first }
        }
        guard let wanted else {
            return Result(
                view: StripeView(refresh: .secrets, secrets: listed), scopes: scopes.count, values: 0,
                requests: requests, payloadsUnreadable: false)
        }
        let targets = listed.keys.filter(wanted.contains).sorted()
        // The first read alone: a key that may not read payloads is found out with one request.
        var reads: [ValueRead] = []
        if let first = targets.first {
            reads.append(try await readValue(at: first, key: key))
            if case .unreadable = reads[0] {
            } else {
                reads += try await inParallel(Array(targets.dropFirst())) { address throws(StripeError) in
                    try await self.readValue(at: address, key: key)
                }
            }
        }
        requests += reads.count
        var unreadable = false
        var values = 0
        for (address, read) in zip(targets, reads) {
            switch read {
            case .found(let observed):
                listed[address] = observed
                values += 1
            case .gone: listed[address] = nil
            case .unreadable: unreadable = true
            }
        }
        if unreadable {
            // Carry on as --refresh: the listing's view, without any value read.
            listed = listed.mapValues { Plan.Observed(id: $0.id, fingerprint: nil, expiresAt: $0.expiresAt) }
        }
        return Result(
            view: StripeView(refresh: unreadable ? .secrets : .values, secrets: listed), scopes: scopes.count,
            values: unreadable ? 0 : values, requests: requests, payloadsUnreadable: unreadable)
    }

    /// One scope, every page: its secrets by address, and the number of pages asked for.
    func list(_ scope: ScopeKey) async throws(StripeError) -> ([SecretAddress: Plan.Observed], Int) {
        var found: [SecretAddress: Plan.Observed] = [:]
        var ids = Set<String>()
        var after: String?
        var pages = 0
        repeat {
            guard pages < Self.maxPages else {
                throw .mismatchedAnswer("the listing of \(scope) goes on past \(Self.maxPages) pages", requestID: nil)
            }
            let page = try await client.listPage(scope: scope.scope, account: scope.account, startingAfter: after)
            pages += 1
            // More than asked for: only a broken or hostile server, which could fill the memory.
            guard page.data.count <= SecretStoreClient.pageLimit else {
                throw .mismatchedAnswer(
                    "a page of \(scope) holds more than the \(SecretStoreClient.pageLimit) secrets asked for",
                    requestID: nil)
            }
            for object in page.data {
                let address = try checked(object, in: scope)
                guard ids.insert(object.id).inserted, found[address] == nil else {
                    throw .mismatchedAnswer("the listing of \(scope) names one secret twice", requestID: nil)
                }
                found[address] = Plan.Observed(id: object.id, fingerprint: nil, expiresAt: object.expiresAt)
            }
            guard page.hasMore else { break }
            guard let last = page.data.last else {
                throw .mismatchedAnswer("a page of \(scope) is empty but says more follow", requestID: nil)
            }
            after = last.id
        } while true
        return (found, pages)
    }

    /// What reading one value found.
    enum ValueRead: Sendable {
        case found(Plan.Observed)
        /// Deleted between the listing and the find.
        case gone
        /// The key may not read payloads (403), or Stripe did not send one.
        case unreadable
    }

    /// Finds one secret with its payload and fingerprints the payload at once.
    func readValue(at address: SecretAddress, key: FingerprintKey) async throws(StripeError) -> ValueRead {
        let object: SecretObject?
        do {
            object = try await client.find(
                name: address.name, scope: address.scope, account: address.account, expandPayload: true)
        } catch {
            if case .api(let api) = error, api.status == 403 { return .unreadable }
            throw error
        }
        guard let object else { return .gone }
        if let problem = object.problem(answering: address.name, in: address.scope, mode: mode) {
            throw .mismatchedAnswer(problem, requestID: nil)
        }
        guard Timestamp.isInRange(object.expiresAt) else {
            throw .mismatchedAnswer("its expires_at is out of range", requestID: nil)
        }
        guard let payload = object.payload else { return .unreadable }
        return .found(
            Plan.Observed(
                id: object.id, fingerprint: key.fingerprint(of: payload, at: address), expiresAt: object.expiresAt))
    }

    /// The address of a listed secret, after checking that it is a secret of `scope` in this mode
    /// with a name the manifest's rules allow (so that it prints safely).
    private func checked(_ object: SecretObject, in scope: ScopeKey) throws(StripeError) -> SecretAddress {
        guard let name = object.name else {
            throw .mismatchedAnswer("a secret listed in \(scope) has no name", requestID: nil)
        }
        if let problem = object.problem(answering: name, in: scope.scope, mode: mode) {
            throw .mismatchedAnswer("a secret listed in \(scope): \(problem)", requestID: nil)
        }
        guard SecretAddress.nameProblem(name) == nil else {
            throw .mismatchedAnswer(
                "\(scope) holds a secret whose name stripe-secrets cannot show (empty, too long, or with invisible "
                    + "characters); rename or delete it in Stripe",
                requestID: nil)
        }
        guard Timestamp.isInRange(object.expiresAt) else {
            throw .mismatchedAnswer("a secret listed in \(scope) has an expires_at out of range", requestID: nil)
        }
        return SecretAddress(account: scope.account, scope: scope.scope, name: name)
    }

    /// `body` over `items`, at most `parallelism` at a time; results in the order of `items`. The
    /// first error cancels the rest and is thrown.
    private func inParallel<Item: Sendable, Answer: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Item) async throws(StripeError) -> Answer
    ) async throws(StripeError) -> [Answer] {
        do {
            return try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
                var answers = [Answer?](repeating: nil, count: items.count)
                var next = 0
                func start() {
                    guard next < items.count else { return }
                    let index = next, item = items[index]
                    next += 1
                    group.addTask { (index, try await body(item)) }
                }
                for _ in 0..<min(parallelism, items.count) { start() }
                while let (index, answer) = try await group.next() {
                    answers[index] = answer
                    start()
                }
                return answers.compactMap { $0 }
            }
        } catch let error as StripeError {
            throw error
        } catch {
            throw .transport(String(describing: error))
        }
    }
}
