/// How both engines read usage records back as text: the columns of ``UsageRecord`` and the joins
/// that give them (agency code, the licence's identifier by its slot or as a text, the keyed texts)
/// for a query whose `FROM` names the records `u`. Records of no agency are not read.
enum UsageRecordQuery {
    static let columns = """
        SELECT a.code AS agency, COALESCE(l.id, o.text) AS licence_id, ac.text AS action, c.text AS cause, oc.text AS outcome,
               u.at, au.text AS authority, an.text AS authority_name
        """

    static let joins = """
        JOIN agency a ON a.id = u.agency_id
        LEFT JOIN licence l ON l.status_list = u.status_list AND l.status_index = u.status_index
        LEFT JOIN usage_text o ON o.id = u.other_licence
        JOIN usage_text ac ON ac.id = u.action
        LEFT JOIN usage_text c ON c.id = u.cause
        JOIN usage_text oc ON oc.id = u.outcome
        LEFT JOIN usage_text au ON au.id = u.authority
        LEFT JOIN usage_text an ON an.id = u.authority_name
        """
}
