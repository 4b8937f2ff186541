package tui

import (
	"errors"
	"strings"
	"time"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/lipgloss"
)

// newInput returns a text input with a static cursor (no blink timer) and the given prompt.
func newInput(prompt string, limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.CharLimit = limit
	in.Cursor.SetMode(cursor.CursorStatic)
	return in
}

// newAmountInput returns the bid form's amount input. It has no display width of its own (it
// grows with its text, at most wire.MaxAmountTextLen characters, and shows its placeholder
// whole); the form's box cuts it on narrow screens.
func newAmountInput() textinput.Model {
	return newInput("amount ", wire.MaxAmountTextLen)
}

// amountProblem checks amount text against the minimum and returns the amount, or a reason.
func amountProblem(s string, min wire.Amount) (wire.Amount, string) {
	a, err := wire.ParseAmount(strings.TrimSpace(s))
	if err != nil {
		var ae *wire.AmountError
		if errors.As(err, &ae) {
			return 0, "not an amount: " + ae.Reason
		}
		return 0, err.Error()
	}
	if a < min {
		return 0, "below the minimum " + usdt(min)
	}
	return a, ""
}

// bidForm is the amount input shown by the bid key. The input starts empty, with the auction's
// current minimum as its placeholder (a prefilled value would have the user's digits appended
// to it); it validates as the user types, against that minimum, and shows the seller's reason
// when a bid is rejected. Enter on the empty input bids the minimum shown at that moment.
type bidForm struct {
	id      wire.AuctionID
	input   textinput.Model
	problem string // validation problem of the current text; "" when it can be sent
	failed  string // the engine's error for the last bid sent
	pending bool   // a bid is on its way to the seller
}

// validate checks the typed amount against min and shows min as the placeholder. The empty input
// has no problem: enter on it bids min.
func (f *bidForm) validate(min wire.Amount) {
	f.input.Placeholder = "at least " + min.String()
	if f.empty() {
		f.problem = ""
		return
	}
	_, f.problem = amountProblem(f.input.Value(), min)
}

// empty reports whether nothing but spaces was typed.
func (f *bidForm) empty() bool { return strings.TrimSpace(f.input.Value()) == "" }

// amount returns the amount enter sends: the typed amount, or min when the input is empty.
func (f *bidForm) amount(min wire.Amount) (wire.Amount, string) {
	if f.empty() {
		return min, ""
	}
	return amountProblem(f.input.Value(), min)
}

// view draws the bid form box.
func (f *bidForm) view(m *Model, width int) string {
	st := m.st
	e := m.auctions.get(f.id)
	lines := make([]string, 0, 4)
	if e == nil {
		lines = append(lines, "Bid: the auction is gone")
	} else {
		a := &e.a
		head := "Bid on " + e.item + " (" + a.ID.Short() + ") · minimum " + usdt(a.MinNextBid())
		if h := a.Highest(); h != nil {
			head += " · highest " + usdt(h.Amount)
		}
		lines = append(lines, st.Label.Render(head))
	}
	lines = append(lines, f.input.View()+" "+wire.Currency)
	switch {
	case f.pending:
		lines = append(lines, "sending to the seller…")
	case f.failed != "":
		lines = append(lines, st.Error.Render("rejected: "+f.failed))
	case f.problem != "":
		lines = append(lines, st.Error.Render(f.problem))
	case f.empty() && e != nil:
		lines = append(lines, st.Muted.Render("type an amount, or enter bids the minimum "+usdt(e.a.MinNextBid())))
	default:
		lines = append(lines, st.OK.Render("ok"))
	}
	lines = append(lines, st.Muted.Render("enter sends · esc cancels"))
	return box(st, lines, width)
}

// Fields of the open form, in tab order.
const (
	fieldItem = iota
	fieldPrice
	fieldDuration
	fieldCount
)

// openForm is the form shown by the open key: item, price and an optional duration.
type openForm struct {
	inputs  [fieldCount]textinput.Model
	focus   int
	tried   bool   // enter was pressed: report an empty item too
	problem string // first validation problem; "" when it can be sent
	failed  string // the engine's error for the last open sent
	pending bool
}

func newOpenForm() openForm {
	var f openForm
	f.inputs[fieldItem] = newInput("item     ", MaxItemInput)
	f.inputs[fieldPrice] = newInput("price    ", wire.MaxAmountTextLen)
	f.inputs[fieldDuration] = newInput("duration ", 16)
	f.inputs[fieldItem].Placeholder = "what you sell, e.g. Pic#1"
	f.inputs[fieldPrice].Placeholder = "start price in USDt, e.g. 75.5"
	f.inputs[fieldDuration].Placeholder = "optional, e.g. 90s or 5m; empty: close by hand"
	return f
}

// values validates every field and returns the values, setting problem to the first problem.
func (f *openForm) values() (item string, price wire.Amount, d time.Duration, ok bool) {
	f.problem = ""
	item = strings.TrimSpace(f.inputs[fieldItem].Value())
	if item == "" && f.tried {
		f.problem = "item: required"
	}
	if p := strings.TrimSpace(f.inputs[fieldPrice].Value()); p != "" || f.tried {
		var why string
		if price, why = amountProblem(p, 1); why != "" && f.problem == "" {
			f.problem = "price: " + why
		}
	}
	if s := strings.TrimSpace(f.inputs[fieldDuration].Value()); s != "" {
		var err error
		d, err = time.ParseDuration(s)
		if (err != nil || d <= 0) && f.problem == "" {
			f.problem = "duration: use a positive duration like 90s, 5m or 1h30m"
		}
	}
	return item, price, d, f.problem == "" && item != "" && price != 0
}

// focusField moves the focus to field i.
func (f *openForm) focusField(i int) {
	f.inputs[f.focus].Blur()
	f.focus = (i + fieldCount) % fieldCount
	f.inputs[f.focus].Focus()
}

func (f *openForm) view(m *Model, width int) string {
	st := m.st
	lines := []string{st.Label.Render("Open an auction")}
	for i := range f.inputs {
		lines = append(lines, f.inputs[i].View())
	}
	switch {
	case f.pending:
		lines = append(lines, "opening…")
	case f.failed != "":
		lines = append(lines, st.Error.Render("failed: "+f.failed))
	case f.problem != "":
		lines = append(lines, st.Error.Render(f.problem))
	default:
		lines = append(lines, "")
	}
	lines = append(lines, st.Muted.Render("tab next field · enter opens · esc cancels"))
	return box(st, lines, width)
}

// confirmForm asks before closing an own auction.
type confirmForm struct {
	id      wire.AuctionID
	failed  string
	pending bool
}

func (f *confirmForm) view(m *Model, width int) string {
	st := m.st
	e := m.auctions.get(f.id)
	if e == nil {
		return box(st, []string{"Close: the auction is gone", st.Muted.Render("esc cancels")}, width)
	}
	a := &e.a
	outcome := "no bids: it closes without a winner"
	if h := a.Highest(); h != nil {
		outcome = "it sells to " + m.who(h.BidderName, h.Bidder) + " for " + usdt(h.Amount)
	}
	lines := []string{st.Label.Render("Close " + e.item + " (" + a.ID.Short() + ")?"), outcome}
	switch {
	case f.pending:
		lines = append(lines, "closing…")
	case f.failed != "":
		lines = append(lines, st.Error.Render("failed: "+f.failed))
	}
	lines = append(lines, st.Muted.Render("y closes · n or esc keeps it open"))
	return box(st, lines, width)
}

// box draws lines inside the form box, width cells wide overall.
func box(st *Styles, lines []string, width int) string {
	inner := max(width-st.Form.GetHorizontalFrameSize(), 1)
	for i, l := range lines {
		lines[i] = lipgloss.NewStyle().MaxWidth(inner).Render(l)
	}
	return st.Form.Width(width - st.Form.GetHorizontalBorderSize()).Render(strings.Join(lines, "\n"))
}
