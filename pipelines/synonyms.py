"""Words exports use for the canonical columns and codes, 中文 and English: what the mapping
assistant (pipelines/assist.py) matches headers and values against. Besides these, every column's
own name and its Chinese label (aftersales.model) count as synonyms."""

from __future__ import annotations

# canonical column -> header words (compared after normalising: lower case, no spaces, _-./()（）).
COLUMNS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("工单号", "工单编号", "单号", "售后单号", "服务单号", "服务单编号", "报修单号", "case id", "caseid",
                  "ticket id", "ticket", "ticket no", "ticket number", "incident id", "incident", "request id",
                  "case", "number", "id"),
    "channel": ("渠道", "来源", "来源渠道", "店铺渠道", "平台", "受理渠道", "channel", "source", "platform", "origin"),
    "service_type": ("服务类型", "售后类型", "类型", "业务类型", "工单类型", "service type", "type", "category",
                     "request type", "ticket type"),
    "priority": ("优先级", "紧急程度", "priority", "urgency", "severity", "seriousness", "impact"),
    "status": ("工单状态", "状态", "售后状态", "处理状态", "status", "state", "incident state", "activity", "event",
               "action", "incidentactivity type"),
    "outlet_id": ("服务网点", "网点", "网点编码", "网点编号", "outlet", "outlet id", "branch", "location",
                  "service center", "store id"),
    "technician_id": ("服务师傅", "师傅", "师傅工号", "服务工程师", "工程师", "技师", "维修员", "technician",
                      "technician id", "engineer", "assigned to", "resource", "agent", "assignee"),
    "product_model": ("产品型号", "型号", "商品型号", "机型", "product", "model", "product model", "item"),
    "customer_id": ("客户编号", "客户id", "买家id", "用户id", "会员id", "customer", "customer id", "caller id",
                    "caller", "user id", "client id"),
    "customer_name": ("客户姓名", "姓名", "收货人", "用户姓名", "买家姓名", "联系人", "customer name", "name",
                      "user name", "username"),
    "customer_phone": ("联系电话", "电话", "手机号", "手机", "联系方式", "phone", "mobile", "telephone", "tel"),
    "order_id": ("订单号", "订单编号", "原订单号", "order id", "order", "order number"),
    "created_at": ("创建时间", "申请时间", "提交时间", "报修时间", "受理时间", "下单时间", "录单时间", "created",
                   "created at", "opened at", "opened", "open time", "sys created at", "submitted",
                   "creation date", "reported at"),
    "first_response_at": ("首次响应时间", "首响时间", "响应时间", "first response", "first response at", "responded at"),
    "dispatched_at": ("派工时间", "派单时间", "分派时间", "dispatched at", "assigned at", "dispatch time"),
    "resolved_at": ("完成时间", "解决时间", "处理完成时间", "resolved at", "resolved", "resolution time",
                    "completed at", "solved at"),
    "closed_at": ("结单时间", "关单时间", "关闭时间", "closed at", "closed", "close time"),
    "resolution": ("处理结果", "处理结论", "结果", "resolution", "outcome", "close code", "closed code"),
    "is_complaint": ("是否投诉", "投诉", "complaint", "is complaint"),
    "complaint_reason": ("投诉原因", "投诉类型", "complaint reason", "complaint type"),
    "reopened_at": ("重开时间", "重新打开时间", "reopened at", "reopen time"),
    "refund_requested_at": ("退款申请时间", "refund requested at"),
    "refunded_at": ("退款时间", "退款到账时间", "refunded at", "refund time"),
    "refund_amount": ("退款金额", "退款金额元", "refund amount", "refund"),
    "in_warranty": ("是否保内", "保内", "保修状态", "保内/保外", "in warranty", "warranty"),
    "customer_charge": ("收费金额", "用户付费", "维修收费", "customer charge", "charged"),
    "updated_at": ("更新时间", "最后修改时间", "修改时间", "最后更新时间", "事件时间", "updated", "updated at",
                   "last modified", "modified", "sys updated at", "complete timestamp", "timestamp", "datestamp",
                   "event time"),
    "complaint_text": ("投诉内容", "投诉描述", "投诉详情", "投诉说明", "客户诉求", "问题描述", "complaint text",
                       "complaint description", "complaint details"),
    # visits
    "visit_id": ("服务记录号", "上门单号", "服务记录编号", "visit id", "visit"),
    "visit_no": ("第几次上门", "上门次数", "次序", "visit no", "visit number", "sequence"),
    "visit_type": ("服务方式", "上门方式", "visit type"),
    "started_at": ("开始时间", "上门时间", "到达时间", "started at", "start time", "start"),
    "ended_at": ("结束时间", "完工时间", "ended at", "end time", "end"),
    "travel_minutes": ("路途时间分钟", "路途时间", "travel minutes", "travel time"),
    "outcome": ("上门结果", "维修结果", "outcome", "result"),
    # parts
    "part_no": ("配件编码", "配件号", "物料编码", "part no", "part number", "part", "sku"),
    "quantity": ("数量", "使用数量", "quantity", "qty"),
    "unit_cost": ("单价", "单价元", "成本", "unit cost", "unit price", "price", "cost"),
    # surveys
    "survey_id": ("回访编号", "回访单号", "评价编号", "问卷编号", "survey id", "response id", "review id", "reviewid",
                  "review no", "feedback id"),
    "responded_at": ("回访时间", "评价时间", "答卷时间", "responded at", "response date", "review date", "date",
                     "submitted at", "at"),
    "satisfaction": ("满意度", "满意度评分", "评分", "星级", "打分", "satisfaction", "csat", "rating", "score",
                     "stars"),
    "nps": ("推荐意愿", "推荐意愿nps", "推荐度", "nps", "recommend", "likelihood to recommend"),
    "comment": ("评价内容", "评价", "备注", "意见", "留言", "comment", "comments", "review", "review text",
                "content", "feedback", "text"),
    "survey_channel": ("回访方式", "回访渠道", "survey channel"),
    # masters
    "outlet_name": ("网点名称", "outlet name", "branch name"),
    "region": ("大区", "区域", "片区", "region", "area"),
    "city": ("城市", "所在城市", "city"),
    "city_tier": ("城市等级", "城市级别", "city tier", "tier"),
    "outlet_type": ("网点类型", "网点性质", "outlet type"),
    "opened_on": ("开业日期", "成立日期", "opened on"),
    "technician_name": ("师傅姓名", "姓名", "technician name"),
    "skills": ("技能", "skills"),
    "skill_level": ("技能等级", "skill level", "level"),
    "hired_on": ("入职日期", "hired on", "hire date"),
    "active": ("在职", "是否在职", "active"),
    "product_category": ("产品品类", "品类", "适用品类", "类目", "product category", "category"),
    "brand": ("品牌", "brand"),
    "part_name": ("配件名称", "part name"),
    "lead_time_days": ("补货周期天", "补货周期", "交期", "lead time days", "lead time"),
    "on_hand": ("库存数量", "库存", "on hand", "stock"),
    "as_of": ("盘点日期", "as of", "stock date"),
    "order_date": ("日期", "下单日期", "order date"),
    "orders": ("订单数", "订单量", "orders"),
}

# Words inside a value that point at a code, per coded column (besides the code, its Chinese
# label and its English label, which always count).
VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "status": {
        "open": ("新建", "待处理", "待受理", "待卖家处理", "未处理", "new", "open", "insert", "assign seriousness",
                 "opened", "created", "submitted"),
        "dispatched": ("派单", "派工", "已分派", "assign", "assignment", "reassignment", "dispatch", "scheduled"),
        "in_progress": ("处理中", "进行中", "维修中", "take in charge", "in progress", "working", "wait", "pending",
                        "on hold", "update", "status change", "awaiting"),
        "resolved": ("完成", "已解决", "已完成", "resolve", "resolved", "done", "completed", "solved", "fixed"),
        "closed": ("关闭", "结单", "关单", "售后关闭", "closed", "close", "complete"),
        "cancelled": ("取消", "撤销", "cancel", "cancelled", "canceled", "withdrawn", "invalid", "duplicate"),
    },
    "service_type": {
        "delivery": ("配送", "物流", "送货", "delivery", "shipping"), "install": ("安装", "install"),
        "repair": ("维修", "报修", "repair", "fix", "incident"), "return": ("退货", "return"),
        "exchange": ("换货", "exchange"), "refund": ("仅退款", "退款", "refund"),
        "consult": ("咨询", "问询", "催单", "consult", "question", "inquiry", "request"),
    },
    "priority": {"low": ("低", "low", "4"), "normal": ("普通", "一般", "中", "normal", "medium", "moderate", "3"),
                 "high": ("高", "high", "2"), "urgent": ("紧急", "加急", "urgent", "critical", "1")},
    "channel": {"tmall": ("天猫",), "taobao": ("淘宝",), "jd": ("京东", "jd"), "pdd": ("拼多多", "pdd"),
                "douyin": ("抖音", "douyin"), "suning": ("苏宁",), "vip": ("唯品会",), "weidian": ("微店",),
                "wechat": ("微信", "小程序", "公众号", "wechat"), "phone": ("电话", "热线", "phone", "call"),
                "store": ("门店", "到店", "store", "walk-in")},
    "survey_channel": {"sms": ("短信", "sms", "text"), "wechat": ("微信", "wechat"),
                       "phone": ("电话", "回访电话", "phone", "call")},
    "is_complaint": {"true": ("是", "yes", "y", "true", "1", "√"), "false": ("否", "no", "n", "false", "0", "×")},
    "active": {"true": ("是", "在职", "yes", "true", "1"), "false": ("否", "离职", "no", "false", "0")},
}

# Markers exports write for "no value".
NULL_MARKERS = ("", "-", "--", "—", "?", "无", "空", "NULL", "null", "None", "N/A", "NA", "n/a", "#N/A")

# Date-time formats tried on sampled values (beyond what the loader reads without help).
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S.%f",
)
