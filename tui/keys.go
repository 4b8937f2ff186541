package tui

import (
	"github.com/charmbracelet/bubbles/key"
)

// KeyMap holds the TUI's key bindings. It implements help.KeyMap. Bindings are matched by mode:
// while a form is open only the form bindings and Quit's ctrl+c are live, so "q", "b" and the
// like can be typed into inputs.
type KeyMap struct {
	Up       key.Binding // select the previous row, or scroll the focused pane up
	Down     key.Binding // select the next row, or scroll the focused pane down
	PageUp   key.Binding // move a page up
	PageDown key.Binding // move a page down
	Details  key.Binding // show or hide the selected auction's details
	Bid      key.Binding // bid on the selected auction
	Open     key.Binding // open an auction
	Close    key.Binding // close the selected own auction
	Filter   key.Binding // filter the auctions list
	NextPane key.Binding // focus the next pane
	Help     key.Binding // toggle the full help
	Quit     key.Binding // quit; QuitAlways also quits while a form is open
	// QuitAlways quits from anywhere, including forms.
	QuitAlways key.Binding

	Submit    key.Binding // send a form
	Cancel    key.Binding // cancel a form, clear the filter, leave details
	NextField key.Binding // next form field
	PrevField key.Binding // previous form field
	Confirm   key.Binding // answer yes to a confirmation
	Deny      key.Binding // answer no to a confirmation
}

// DefaultKeyMap returns the key bindings of the design: arrows or j/k select, enter details,
// b bid, o open, c close, / filter, tab switches pane, ? help, q or ctrl+c quits.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Details:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Bid:        key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "bid")),
		Open:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open")),
		Close:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "close")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		NextPane:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		QuitAlways: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Submit:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		NextField:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		PrevField:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous field")),
		Confirm:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		Deny:       key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
	}
}

// ShortHelp returns the bindings shown in the one-line help. It implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Details, k.Bid, k.Open, k.Close, k.Filter, k.NextPane, k.Help, k.Quit}
}

// FullHelp returns the bindings shown in the full help, by column. It implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.Details, k.Bid, k.Open, k.Close},
		{k.Filter, k.NextPane, k.Help, k.Quit},
		{k.Submit, k.Cancel, k.NextField, k.Confirm},
	}
}
