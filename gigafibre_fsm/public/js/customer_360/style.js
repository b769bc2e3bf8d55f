// Styles of the Customer 360 panel, on the desk's own CSS variables (light and dark themes).
export const STYLE = `
.gf-customer-360 { padding: var(--padding-md, 15px) var(--padding-lg, 20px); margin-bottom: var(--margin-md, 15px); }
.gf-360-head { display: flex; justify-content: space-between; align-items: baseline; margin-bottom: 8px; }
.gf-360-title { font-size: var(--text-lg, 16px); font-weight: 600; color: var(--heading-color, var(--text-color)); }
.gf-section { margin-bottom: 12px; }
.gf-section-title { font-size: var(--text-sm, 12px); font-weight: 600; color: var(--text-muted); text-transform: uppercase;
  letter-spacing: .03em; margin: 10px 0 4px; }
.gf-count { background: var(--bg-gray, var(--gray-100)); color: var(--text-color); border-radius: 8px; padding: 0 6px; margin-left: 4px; font-weight: 500; }
.gf-table, .gf-kv { margin-bottom: 4px; font-size: var(--text-sm, 12px); }
.gf-customer-360 .gf-section { overflow-x: auto; }
.gf-table th { color: var(--text-muted); font-weight: 500; border-top: none; }
.gf-table td, .gf-table th, .gf-kv td, .gf-kv th { padding: 4px 6px; vertical-align: middle; }
.gf-kv th { width: 35%; color: var(--text-muted); font-weight: 500; }
.gf-optical { display: flex; align-items: center; gap: 8px; margin: 4px 0 8px; }
.gf-optical-compact { margin: 0; }
.gf-optical-bar { position: relative; flex: 1; min-width: 80px; height: 8px; border-radius: 4px; background: var(--red-100, #fde8e8); }
.gf-optical-compact .gf-optical-bar { max-width: 70px; min-width: 50px; }
.gf-optical-band { position: absolute; top: 0; bottom: 0; background: var(--green-200, #c6f6d5); border-radius: 4px; }
.gf-optical-mark { position: absolute; top: -3px; width: 3px; height: 14px; margin-left: -1px; background: var(--text-color); border-radius: 2px; }
.gf-diagnosis .alert { margin: 6px 0; }
`;
