//! `.ips` parser (JSON header line + JSON body).
