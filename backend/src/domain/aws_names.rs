//! AWS identifiers people type: account ids, regions, IAM role ARNs. Parsed once at the
//! edge so a malformed ARN never reaches Lake Formation.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AwsAccountId(String);

impl AwsAccountId {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(Invalid::new(
                "aws_account_id",
                "an AWS account id is 12 digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AwsAccountId {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        Self::parse(&value)
    }
}

impl From<AwsAccountId> for String {
    fn from(id: AwsAccountId) -> Self {
        id.0
    }
}

/// An AWS region name such as `eu-west-1`.
pub fn parse_region(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    let parts: Vec<&str> = text.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Invalid::new(
            "aws_region",
            "use a region name like eu-west-1",
        ))
    }
}

/// A principal that can receive Lake Formation grants: an IAM role ARN
/// (`arn:aws:iam::123456789012:role/path/name`) or a whole account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrincipalArn {
    text: String,
    account: AwsAccountId,
}

impl PrincipalArn {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let text = text.trim();
        let invalid = || {
            Invalid::new(
                "arn",
                "use an IAM role ARN like arn:aws:iam::123456789012:role/analytics, or a 12-digit account id",
            )
        };
        if let Ok(account) = AwsAccountId::parse(text) {
            return Ok(Self {
                text: text.to_owned(),
                account,
            });
        }
        let rest = text
            .strip_prefix("arn:aws:iam::")
            .or_else(|| text.strip_prefix("arn:aws-cn:iam::"))
            .or_else(|| text.strip_prefix("arn:aws-us-gov:iam::"))
            .ok_or_else(invalid)?;
        let (account, resource) = rest.split_once(':').ok_or_else(invalid)?;
        let account = AwsAccountId::parse(account).map_err(|_| invalid())?;
        let name = resource.strip_prefix("role/").ok_or_else(invalid)?;
        let valid_name = !name.is_empty()
            && name.len() <= 512
            && name.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            });
        if !valid_name {
            return Err(invalid());
        }
        Ok(Self {
            text: text.to_owned(),
            account,
        })
    }

    pub fn account(&self) -> &AwsAccountId {
        &self.account
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for PrincipalArn {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        Self::parse(&value)
    }
}

impl From<PrincipalArn> for String {
    fn from(arn: PrincipalArn) -> Self {
        arn.text
    }
}

impl std::fmt::Display for PrincipalArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let arn =
            PrincipalArn::parse("arn:aws:iam::123456789012:role/team/analytics-reader").unwrap();
        assert_eq!(arn.account().as_str(), "123456789012");
        assert!(PrincipalArn::parse("123456789012").is_ok());
        for bad in [
            "",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/a b",
            "arn:aws:iam::123456789012:role/x<script>",
        ] {
            assert!(PrincipalArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_and_accounts() {
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("us-gov-west-1").is_ok());
        for bad in ["", "eu", "EU-WEST-1", "eu-west-x", "eu--1"] {
            assert!(parse_region(bad).is_err(), "{bad}");
        }
        assert!(AwsAccountId::parse("1234567890123").is_err());
    }
}
