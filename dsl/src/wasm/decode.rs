//! The result block back into [`HouseholdDecision`]s. The module decided
//! everything; this only turns record numbers into paths, reason codes
//! into the interpreter's reason strings, typed hole values into rendered
//! messages (with the interpreter's own renderers), and sorts.

use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use super::encode::{Placed, RecordRef, path_of, records_of};
use super::layout::{self, ELIGIBLE, FAILED, NOT_ELIGIBLE, PASSED, event, node};
use crate::context::{EvalContext, resolve};
use crate::date::Date;
use crate::decision::assemble::{self, Parts};
use crate::decision::{
    BenefitExplanation, BenefitItem, CriterionOutcome, ElementOutcome, Eligibility, HoleValue,
    HouseholdDecision, Messages, Outcome, RulesetOutcome, Status, SubjectDecision,
};
use crate::ev::{Ev, Rec, V, reason};
use crate::explain::{Lang, key_label, key_of, render, to_json};
use crate::ir::{Program, Stage, Template, TemplatePart, Type};
use crate::value::Value;

/// A result block that does not fit the program or the households.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbiError {
    /// A read past the end of the block, or a pointer outside it.
    OutOfBounds(u64),
    /// The block was written for another ABI version.
    Version(u32),
    /// An event, node or value the decoder did not expect here.
    Unexpected(String),
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbiError::OutOfBounds(at) => write!(f, "result block: pointer {at} out of bounds"),
            AbiError::Version(v) => write!(f, "result block: ABI version {v}"),
            AbiError::Unexpected(what) => write!(f, "result block: unexpected {what}"),
        }
    }
}

impl std::error::Error for AbiError {}

pub(super) fn unexpected<T>(what: impl Into<String>) -> Result<T, AbiError> {
    Err(AbiError::Unexpected(what.into()))
}

pub(super) struct Block<'b> {
    pub bytes: &'b [u8],
    pub base: u32,
}

pub(super) struct Event {
    pub next: u32,
    pub kind: u32,
    pub a: i32,
    pub b: i32,
    pub c: i32,
    pub v: i64,
}

impl Block<'_> {
    fn slice(&self, off: u64, len: u64) -> Result<&[u8], AbiError> {
        let end = off.checked_add(len).ok_or(AbiError::OutOfBounds(off))?;
        self.bytes
            .get(off as usize..end as usize)
            .ok_or(AbiError::OutOfBounds(off))
    }

    pub(super) fn u32(&self, off: u64) -> Result<u32, AbiError> {
        let b = self.slice(off, 4)?;
        Ok(u32::from_le_bytes(
            <[u8; 4]>::try_from(b).map_err(|_| AbiError::OutOfBounds(off))?,
        ))
    }

    fn i64(&self, off: u64) -> Result<i64, AbiError> {
        let b = self.slice(off, 8)?;
        Ok(i64::from_le_bytes(
            <[u8; 8]>::try_from(b).map_err(|_| AbiError::OutOfBounds(off))?,
        ))
    }

    /// The offset in the block of a module address.
    fn at(&self, ptr: u32) -> Result<u64, AbiError> {
        ptr.checked_sub(self.base)
            .map(u64::from)
            .ok_or(AbiError::OutOfBounds(u64::from(ptr)))
    }

    pub(super) fn event(&self, ptr: u32) -> Result<Event, AbiError> {
        let o = self.at(ptr)?;
        Ok(Event {
            next: self.u32(o)?,
            kind: self.u32(o + 4)?,
            a: self.u32(o + 8)? as i32,
            b: self.u32(o + 12)? as i32,
            c: self.u32(o + 16)? as i32,
            v: self.i64(o + 24)?,
        })
    }

    /// A missing set's reasons. Nodes only point to earlier nodes, which
    /// bounds the walk.
    pub(super) fn missing<R: Placed>(
        &self,
        program: &Program,
        recs: &[R],
        ptr: u32,
    ) -> Result<BTreeSet<String>, AbiError> {
        let mut out = BTreeSet::new();
        let mut stack = vec![ptr];
        while let Some(p) = stack.pop() {
            if p == 0 {
                continue;
            }
            let o = self.at(p)?;
            let (kind, a, b) = (self.u32(o)?, self.u32(o + 4)?, self.u32(o + 8)?);
            match kind {
                node::UNION => {
                    if a >= p || b >= p {
                        return unexpected("missing-set cycle");
                    }
                    stack.push(a);
                    stack.push(b);
                }
                node::FIELD => {
                    let Some(rec) = recs.get(a as usize) else {
                        return unexpected(format!("record number {a}"));
                    };
                    let path = path_of(program, recs, a as usize);
                    let name = program
                        .schema
                        .records
                        .get(rec.id().index())
                        .and_then(|r| r.fields.get(b as usize))
                        .map(|f| f.name.as_str());
                    let Some(name) = name else {
                        return unexpected(format!("field {b}"));
                    };
                    out.insert(if path.is_empty() {
                        name.to_string()
                    } else {
                        format!("{path}.{name}")
                    });
                }
                node::PARAM => match program.params.get(a as usize) {
                    Some(param) => {
                        out.insert(format!("params.{}", param.name));
                    }
                    None => return unexpected(format!("parameter {a}")),
                },
                node::REASON => {
                    out.insert(reason_text(a)?.to_string());
                }
                _ => return unexpected(format!("missing-set node kind {kind}")),
            }
        }
        Ok(out)
    }

    /// A serialised hole value of type `ty`.
    fn value<'h>(
        &self,
        program: &Program,
        recs: &[RecordRef<'h>],
        ty: &Type,
        payload: i64,
    ) -> Result<V<'h>, AbiError> {
        let lo = payload as u32;
        let hi = (payload >> 32) as u32;
        Ok(match ty {
            Type::Bool => V::Bool(payload != 0),
            Type::Int => V::Int(payload),
            Type::Money => V::Money(payload),
            Type::Date => match Date::from_yyyymmdd(payload as i32) {
                Some(d) => V::Date(d),
                None => return unexpected(format!("date {payload}")),
            },
            Type::Enum(_) => V::Enum(lo),
            Type::Text => {
                let bytes = self.slice(self.at(lo)?, u64::from(hi))?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => V::Text(Rc::from(s)),
                    Err(_) => return unexpected("text that is not UTF-8"),
                }
            }
            Type::Record(_) => match recs.get(lo as usize) {
                Some(r) => V::Rec(rec(r, &path_of(program, recs, lo as usize))),
                None => return unexpected(format!("record number {lo}")),
            },
            Type::List(elem) => {
                let start = self.at(lo)?;
                let mut items = Vec::new();
                for i in 0..u64::from(hi) {
                    items.push(self.value(program, recs, elem, self.i64(start + 8 * i)?)?);
                }
                V::List(Rc::from(items))
            }
        })
    }
}

fn rec<'h>(r: &RecordRef<'h>, path: &str) -> Rec<'h> {
    Rec {
        record: r.record,
        id: r.id,
        path: Rc::from(path),
    }
}

fn reason_text(code: u32) -> Result<&'static str, AbiError> {
    use layout::reason as r;
    Ok(match code {
        r::DIVISION_BY_ZERO => reason::DIVISION_BY_ZERO,
        r::OVERFLOW => reason::OVERFLOW,
        r::NOT_A_NUMBER => reason::NOT_A_NUMBER,
        r::NOT_A_DATE => reason::NOT_A_DATE,
        r::NO_ELEMENTS => reason::NO_ELEMENTS,
        r::BAD_OVERRIDE => reason::BAD_OVERRIDE,
        r::INTERNAL => reason::INTERNAL,
        _ => return unexpected(format!("reason code {code}")),
    })
}

pub(super) fn outcome(code: i32) -> Result<Outcome, AbiError> {
    match code {
        PASSED => Ok(Outcome::Passed),
        FAILED => Ok(Outcome::Failed),
        layout::UNDETERMINED => Ok(Outcome::Undetermined),
        _ => unexpected(format!("outcome {code}")),
    }
}

/// Where an element or item is: a record's path, key and label, or its
/// index in the list.
pub(super) fn where_is(
    program: &Program,
    recs: &[RecordRef<'_>],
    recnum: i32,
    index: i32,
) -> Result<(String, Option<String>, Option<String>), AbiError> {
    if recnum < 0 {
        return Ok((format!("[{index}]"), None, None));
    }
    match recs.get(recnum as usize) {
        Some(r) => {
            let path = path_of(program, recs, recnum as usize);
            let (key, label) = key_label(program, &rec(r, &path));
            Ok((path, key, label))
        }
        None => unexpected(format!("record number {recnum}")),
    }
}

/// A subject as a summary names it: the record's key, or its path when it
/// has none (no label), or `[index]` as [`where_is`] gives it.
pub(super) fn subject_of<R: Placed>(
    program: &Program,
    recs: &[R],
    recnum: i32,
    index: i32,
) -> Result<String, AbiError> {
    if recnum < 0 {
        return Ok(format!("[{index}]"));
    }
    match recs.get(recnum as usize) {
        Some(r) => Ok(r
            .key(program)
            .unwrap_or_else(|| path_of(program, recs, recnum as usize))),
        None => unexpected(format!("record number {recnum}")),
    }
}

/// One household's decoding state.
struct House<'a, 'h> {
    program: &'a Program,
    block: &'a Block<'a>,
    recs: Vec<RecordRef<'h>>,
    holes: Vec<(u32, i64)>,
    elements: Vec<ElementOutcome>,
    items: Vec<BenefitItem>,
    benefit: Option<BenefitExplanation>,
    criteria: Vec<CriterionOutcome>,
    /// The ruleset and instance record of the current instance.
    current: Option<(usize, i32)>,
    /// The index of the criterion whose events come next.
    next_criterion: usize,
}

impl House<'_, '_> {
    fn missing(&self, ptr: u32) -> Result<Vec<String>, AbiError> {
        Ok(self
            .block
            .missing(self.program, &self.recs, ptr)?
            .into_iter()
            .collect())
    }

    /// Both messages from the pending hole values, as the interpreter
    /// fills them (values once per distinct hole text).
    fn message(
        &mut self,
        id: &Template,
        en: &Template,
    ) -> Result<(Messages, Vec<HoleValue>), AbiError> {
        let holes = std::mem::take(&mut self.holes);
        let mut holes = holes.into_iter();
        let mut values: Vec<HoleValue> = Vec::new();
        let mut texts = Vec::new();
        for (template, lang) in [(id, Lang::Id), (en, Lang::En)] {
            let mut out = String::new();
            for part in &template.parts {
                match part {
                    TemplatePart::Text(text) => out.push_str(text),
                    TemplatePart::Hole { expr, source } => {
                        let Some((m, payload)) = holes.next() else {
                            return unexpected("missing hole value");
                        };
                        let ty = self.program.ty(*expr);
                        let ev = match (m, ty) {
                            (0, Some(ty)) => {
                                Ev::Val(self.block.value(self.program, &self.recs, ty, payload)?)
                            }
                            (0, None) => return unexpected("hole without a type"),
                            (m, _) => Ev::Und(self.block.missing(self.program, &self.recs, m)?),
                        };
                        out.push_str(&render(self.program, &ev, ty, lang));
                        if !values.iter().any(|v| &v.expr == source) {
                            values.push(HoleValue {
                                expr: source.clone(),
                                value: to_json(self.program, &ev, ty),
                            });
                        }
                    }
                }
            }
            texts.push(out);
        }
        let en = texts.pop().unwrap_or_default();
        let id = texts.pop().unwrap_or_default();
        Ok((Messages { id, en }, values))
    }
}

/// The result block's header: its ABI version checked, the block of
/// results and the offset of the first event of the trace.
pub(super) fn open(result: &[u8]) -> Result<(Block<'_>, u32), AbiError> {
    let header = Block {
        bytes: result,
        base: 0,
    };
    let version = header.u32(0)?;
    if version != layout::ABI_VERSION {
        return Err(AbiError::Version(version));
    }
    let block = Block {
        bytes: result,
        base: header.u32(4)?,
    };
    Ok((block, header.u32(12)?))
}

/// Rebuilds the decisions of a batch from the module's result block
/// (`memory[ptr..ptr + result_len()]`), given the same households and
/// context the batch was encoded from.
pub fn decode_results(
    program: &Program,
    households: &[Value],
    ctx: &EvalContext,
    result: &[u8],
) -> Result<Vec<HouseholdDecision>, AbiError> {
    let (block, mut next) = open(result)?;
    let (_, params) = resolve(program, ctx.as_of, &ctx.overrides);
    let mut out = Vec::with_capacity(households.len());
    for (h, household) in households.iter().enumerate() {
        let first = if next == 0 {
            return unexpected("end of the trace");
        } else {
            block.event(next)?
        };
        if first.kind != event::HOUSEHOLD || first.a != h as i32 {
            return unexpected(format!("event {} instead of household {h}", first.kind));
        }
        next = first.next;
        let mut house = House {
            program,
            block: &block,
            recs: records_of(program, household),
            holes: Vec::new(),
            elements: Vec::new(),
            items: Vec::new(),
            benefit: None,
            criteria: Vec::new(),
            current: None,
            next_criterion: 0,
        };
        let record_id = house
            .recs
            .first()
            .and_then(|r| key_of(program, r.record, r.id))
            .unwrap_or_default();
        let mut verification: Vec<(usize, RulesetOutcome)> = Vec::new();
        let mut status = None;
        let mut subjects: Vec<(usize, SubjectDecision)> = Vec::new();
        while next != 0 {
            let e = block.event(next)?;
            if e.kind == event::HOUSEHOLD {
                break;
            }
            next = e.next;
            house
                .step(&e, &mut verification, &mut status, &mut subjects)
                .map_err(|err| AbiError::Unexpected(format!("{err} (event kind {})", e.kind)))?;
        }
        let Some(status) = status else {
            return unexpected("household without a status");
        };
        let decision = assemble::household(
            program,
            Parts {
                record_id,
                as_of: ctx.as_of,
                verification,
                subjects,
                params: params.clone(),
            },
        );
        // The module decided the status to gate determination; the host
        // derives it again from the codes. They must agree.
        if decision.status != status {
            return unexpected("a status the verification codes do not give");
        }
        out.push(decision);
    }
    Ok(out)
}

impl<'a> House<'a, '_> {
    fn step(
        &mut self,
        e: &Event,
        verification: &mut Vec<(usize, RulesetOutcome)>,
        status: &mut Option<Status>,
        subjects: &mut Vec<(usize, SubjectDecision)>,
    ) -> Result<(), AbiError> {
        let program = self.program;
        match e.kind {
            event::INSTANCE => {
                let k = e.a as usize;
                let Some(ruleset) = program.rulesets.get(k) else {
                    return unexpected(format!("ruleset {k}"));
                };
                self.current = Some((k, e.b));
                self.next_criterion = 0;
                self.criteria.clear();
                self.benefit = None;
                self.items.clear();
                if ruleset.stage == Stage::Verification {
                    let (path, _, _) = where_is(program, &self.recs, e.b, 0)?;
                    verification.push((
                        k,
                        RulesetOutcome {
                            ruleset: ruleset.name.clone(),
                            path,
                            criteria: Vec::new(),
                        },
                    ));
                }
            }
            event::HOLE => self.holes.push((e.a as u32, e.v)),
            event::ELEMENT => {
                let c = self.criterion_def(None)?;
                let (message, values) = self.message(&c.message_id, &c.message_en)?;
                let (path, key, label) = where_is(program, &self.recs, e.b, e.a)?;
                self.elements.push(ElementOutcome {
                    path,
                    key,
                    label,
                    outcome: outcome(e.c)?,
                    message,
                    values,
                    missing: self.missing(e.v as u32)?,
                });
            }
            event::CRITERION => {
                let c = self.criterion_def(Some(e.a as usize))?;
                self.next_criterion = e.a as usize + 1;
                let result_outcome = outcome(e.b)?;
                let mut result = CriterionOutcome {
                    code: c.code.clone(),
                    severity: c.severity,
                    outcome: result_outcome,
                    reason: (result_outcome == Outcome::Failed)
                        .then(|| c.reason.clone())
                        .flatten(),
                    message: None,
                    values: Vec::new(),
                    checked: None,
                    elements: std::mem::take(&mut self.elements),
                    missing: self.missing(e.v as u32)?,
                };
                if e.c < 0 {
                    let (message, values) = self.message(&c.message_id, &c.message_en)?;
                    result.message = Some(message);
                    result.values = values;
                } else {
                    result.checked = Some(e.c as u32);
                }
                match (self.current, verification.last_mut()) {
                    (Some((k, _)), Some((vk, outcome)))
                        if *vk == k
                            && program.rulesets.get(k).map(|r| r.stage)
                                == Some(Stage::Verification) =>
                    {
                        outcome.criteria.push(result);
                    }
                    _ => self.criteria.push(result),
                }
            }
            event::SKIP => self.current = None,
            event::BENEFIT_ITEM => {
                let (path, key, label) = where_is(program, &self.recs, e.b, e.a)?;
                self.items.push(BenefitItem {
                    path,
                    key,
                    label,
                    value: (e.c & 1 != 0).then_some(e.v),
                    counted: e.c & 2 != 0,
                });
            }
            event::BENEFIT => {
                let missing = self.missing(e.a as u32)?;
                self.benefit = Some(BenefitExplanation {
                    computed: (e.a == 0).then_some(e.v),
                    items: std::mem::take(&mut self.items),
                    missing,
                });
            }
            event::FILTER_UNDETERMINED | event::DECISION => {
                let missing_ptr = if e.kind == event::DECISION { e.c } else { e.a };
                let mut decision = self.decision()?;
                decision.missing = self.missing(missing_ptr as u32)?;
                if e.kind == event::DECISION {
                    decision.eligibility = match e.a {
                        ELIGIBLE => Eligibility::Eligible,
                        NOT_ELIGIBLE => Eligibility::NotEligible,
                        _ => Eligibility::Undetermined,
                    };
                    decision.amount = (e.b != 0).then_some(e.v);
                    decision.criteria = std::mem::take(&mut self.criteria);
                    decision.benefit = self.benefit.take();
                }
                let (k, _) = self.current.ok_or(AbiError::Unexpected(
                    "a decision outside an instance".to_string(),
                ))?;
                subjects.push((k, decision));
                self.current = None;
            }
            event::STATUS => {
                *status = Some(if e.a != 0 {
                    Status::Verified
                } else {
                    Status::Returned
                });
            }
            kind => return unexpected(format!("event kind {kind}")),
        }
        Ok(())
    }

    fn ruleset(&self) -> Result<&'a crate::ir::Ruleset, AbiError> {
        match self.current.and_then(|(k, _)| self.program.rulesets.get(k)) {
            Some(r) => Ok(r),
            None => unexpected("event outside an instance"),
        }
    }

    /// The criterion an event belongs to: by index, or the next one of the
    /// current instance.
    fn criterion_def(&self, index: Option<usize>) -> Result<&'a crate::ir::Criterion, AbiError> {
        let r = self.ruleset()?;
        let index = index.unwrap_or(self.next_criterion);
        match r.criteria.get(index) {
            Some(c) => Ok(c),
            None => unexpected(format!("criterion {index}")),
        }
    }

    fn decision(&self) -> Result<SubjectDecision, AbiError> {
        let r = self.ruleset()?;
        let recnum = self.current.map_or(-1, |(_, n)| n);
        let (path, key, label) = where_is(self.program, &self.recs, recnum, 0)?;
        Ok(SubjectDecision::new(r, path, key, label))
    }
}
